package tlsmsg

// Alert is a TLS alert: level 1 warning, 2 fatal; the description's name
// is AlertDescriptionName's.
type Alert struct {
	Level       uint8 `json:"level"`
	Description uint8 `json:"description"`
}

// Handshake is a TLS handshake message decoded by the dissector into its
// typed form (one type per message, messages.go). Exactly one of
// the message pointers is set, unless nothing of the message parsed
// (Error, and no message). When Error is set with a message, the message
// holds what was decoded before the part that broke.
type Handshake struct {
	// Type is the IANA name of the message type (client_hello,
	// server_hello, …), "hello_retry_request" for that form of the
	// ServerHello and "unknown" for an unassigned type; MsgType is the
	// number on the wire.
	Type    string `json:"type"`
	MsgType uint8  `json:"msg_type"`
	// Fields holds the decoded content in display order, e.g.
	// {"SNI","mail.lab.test"}, {"cipher suites","TLS_AES_128_GCM_SHA256, …"},
	// made from the typed message by the dissector (describe.go).
	Fields []Field `json:"fields,omitempty"`
	// Encrypted is true when the message travelled encrypted and was
	// recovered from the session's own key log (TLS 1.3 EncryptedExtensions …).
	Encrypted bool `json:"encrypted,omitempty"`
	// Error says why the message did not parse (its framing was intact).
	Error string `json:"error,omitempty"`

	ClientHello         *ClientHello         `json:"client_hello,omitempty"`
	ServerHello         *ServerHello         `json:"server_hello,omitempty"`
	Certificate         *Certificate         `json:"certificate,omitempty"`
	ServerKeyExchange   *ServerKeyExchange   `json:"server_key_exchange,omitempty"`
	CertificateRequest  *CertificateRequest  `json:"certificate_request,omitempty"`
	ServerHelloDone     *ServerHelloDone     `json:"server_hello_done,omitempty"`
	HelloRequest        *HelloRequest        `json:"hello_request,omitempty"`
	ClientKeyExchange   *ClientKeyExchange   `json:"client_key_exchange,omitempty"`
	NewSessionTicket    *NewSessionTicket    `json:"new_session_ticket,omitempty"`
	CertificateStatus   *CertificateStatus   `json:"certificate_status,omitempty"`
	EncryptedExtensions *EncryptedExtensions `json:"encrypted_extensions,omitempty"`
	CertificateVerify   *CertificateVerify   `json:"certificate_verify,omitempty"`
	Finished            *Finished            `json:"finished,omitempty"`
	NotDecoded          *NotDecoded          `json:"not_decoded,omitempty"`
}

// Field is one named value of a decoded message.
type Field struct {
	Name       string `json:"name"`
	Value      string `json:"value"`
	Annotation string `json:"annotation,omitempty"`
	// Metadata: a passive observer learns this value from a handshake
	// message sent in the clear: the server name (RFC 6066 §3), ALPN (RFC
	// 7301), the versions offered and chosen, the cipher suite, and before
	// TLS 1.3 the certificate (RFC 5246 §7.4.2). Never set on a message
	// decrypted from the key log.
	Metadata bool `json:"metadata,omitempty"`
}
