package tlsmsg

import "golang.org/x/crypto/cryptobyte"

// Extension decoding: one small function per extension structure, in a
// table keyed by extension number. The same extension has different forms
// in different messages (key_share is a list in the ClientHello, one entry
// in the ServerHello, a bare group in a HelloRetryRequest), so each
// decoder is told where the extension sits. Their display is in
// describe.go (extensionTexts).

// extAt says which message carries an extension.
type extAt struct {
	msg uint8 // handshake message type
	hrr bool  // the ServerHello is a HelloRetryRequest
}

func (a extAt) client() bool { return a.msg == TypeClientHello }

// extDecoders fill an Extension's value from its data; false when the data
// does not parse. An extension without a decoder keeps its length only.
var extDecoders = map[uint16]func(e *Extension, data cryptobyte.String, at extAt) bool{
	ExtServerName:           decodeServerName,
	ExtALPN:                 decodeNames8,
	ExtSupportedGroups:      decodeCodes16,
	ExtSignatureAlgorithms:  decodeCodes16,
	ExtSigAlgsCert:          decodeCodes16,
	ExtDelegatedCredential:  decodeCodes16,
	ExtECPointFormats:       decodeCodes8,
	ExtPSKModes:             decodeCodes8,
	ExtCompressCertificate:  decodeCodes16In8,
	ExtKeyShare:             decodeKeyShare,
	ExtSupportedVersions:    decodeSupportedVersions,
	ExtRenegotiationInfo:    decodeRenegotiationInfo,
	ExtExtendedMasterSecret: decodeEmpty,
	ExtEncryptThenMAC:       decodeEmpty,
	ExtPostHandshakeAuth:    decodeEmpty,
	ExtStatusRequest:        decodeStatusRequest,
	ExtPreSharedKey:         decodePSK,
	ExtEarlyData:            decodeEarlyData,
	ExtCookie:               decodeCookie,
	ExtEncryptedClientHello: decodeECH,
	ExtRecordSizeLimit:      decodeValue16,
	ExtMaxFragmentLength:    decodeMaxFragmentLength,
	ExtHeartbeat:            decodeValue8,
}

// parseExtension decodes one extension's data as it is defined in the
// message that carries it; data that does not parse marks it Malformed.
func parseExtension(id uint16, data cryptobyte.String, at extAt) Extension {
	e := Extension{ID: id, Length: len(data)}
	if dec := extDecoders[id]; dec != nil && !dec(&e, data, at) {
		return Extension{ID: id, Length: len(data), Malformed: true}
	}
	return e
}

// decodeServerName reads server_name (RFC 6066 §3): in the ClientHello a
// list of (name_type, HostName), where only host_name(0) exists; from the
// server an empty acknowledgement.
func decodeServerName(e *Extension, data cryptobyte.String, at extAt) bool {
	if !at.client() {
		return data.Empty()
	}
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
		return false
	}
	for !list.Empty() {
		var typ uint8
		var host []byte
		if !list.ReadUint8(&typ) || !readUint16Prefixed(&list, &host) {
			return false
		}
		e.Names = append(e.Names, string(host))
	}
	return true
}

// decodeNames8 reads ALPN's ProtocolNameList (RFC 7301 §3.1); the
// server's holds exactly one.
func decodeNames8(e *Extension, data cryptobyte.String, _ extAt) bool {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
		return false
	}
	for !list.Empty() {
		var p []byte
		if !readUint8Prefixed(&list, &p) {
			return false
		}
		e.Names = append(e.Names, string(p))
	}
	return true
}

// decodeCodes16 reads a uint16-length-prefixed list of uint16 code
// points (named groups, signature schemes).
func decodeCodes16(e *Extension, data cryptobyte.String, _ extAt) bool {
	ids, ok := readUint16List(&data)
	e.Codes = ids
	return ok && data.Empty()
}

// decodeCodes16In8 reads a uint8-length-prefixed list of uint16
// (compress_certificate's algorithms, RFC 8879 §3).
func decodeCodes16In8(e *Extension, data cryptobyte.String, _ extAt) bool {
	ids, ok := readUint16ListU8(&data)
	e.Codes = ids
	return ok && data.Empty()
}

// decodeCodes8 reads a uint8-length-prefixed list of one-byte code points
// (ec_point_formats, psk_key_exchange_modes).
func decodeCodes8(e *Extension, data cryptobyte.String, _ extAt) bool {
	var list []byte
	if !readUint8Prefixed(&data, &list) || !data.Empty() {
		return false
	}
	e.Codes = widen(list)
	return true
}

// decodeKeyShare reads key_share (RFC 8446 §4.2.8): a list in the
// ClientHello, one entry in the ServerHello, only the selected group in a
// HelloRetryRequest.
func decodeKeyShare(e *Extension, data cryptobyte.String, at extAt) bool {
	if at.hrr {
		var g uint16
		if !data.ReadUint16(&g) || !data.Empty() {
			return false
		}
		e.Codes = []uint16{g}
		return true
	}
	readEntry := func(s *cryptobyte.String) bool {
		var g uint16
		var key []byte
		if !s.ReadUint16(&g) || !readUint16Prefixed(s, &key) {
			return false
		}
		e.KeyShares = append(e.KeyShares, KeyShare{Group: g, KeyLength: len(key)})
		return true
	}
	if !at.client() {
		return readEntry(&data) && data.Empty()
	}
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
		return false
	}
	for !list.Empty() {
		if !readEntry(&list) {
			return false
		}
	}
	return true
}

// decodeSupportedVersions reads supported_versions (RFC 8446 §4.2.1): the
// client's list, most preferred first, or the server's one choice.
func decodeSupportedVersions(e *Extension, data cryptobyte.String, at extAt) bool {
	if at.client() {
		var list cryptobyte.String
		if !data.ReadUint8LengthPrefixed(&list) || !data.Empty() || len(list)%2 != 0 {
			return false
		}
		e.Codes = drainUint16(list)
		return true
	}
	var v uint16
	if !data.ReadUint16(&v) || !data.Empty() {
		return false
	}
	e.Codes = []uint16{v}
	return true
}

// decodeRenegotiationInfo reads renegotiation_info (RFC 5746 §3.2): empty
// on the initial handshake, verify data on a renegotiation.
func decodeRenegotiationInfo(e *Extension, data cryptobyte.String, _ extAt) bool {
	var v []byte
	if !readUint8Prefixed(&data, &v) || !data.Empty() {
		return false
	}
	e.Value = uint32(len(v))
	return true
}

// decodeEmpty checks an extension whose presence is its meaning
// (extended_master_secret, encrypt_then_mac, post_handshake_auth).
func decodeEmpty(_ *Extension, data cryptobyte.String, _ extAt) bool { return data.Empty() }

// decodeStatusRequest reads the client's status type (RFC 6066 §8); the
// server's is empty, or in a TLS 1.3 Certificate entry the response.
func decodeStatusRequest(e *Extension, data cryptobyte.String, at extAt) bool {
	if !at.client() {
		return true
	}
	var typ uint8
	if !data.ReadUint8(&typ) {
		return false
	}
	e.Value = uint32(typ)
	return true
}

// decodePSK reads pre_shared_key (RFC 8446 §4.2.11): the client's
// identities (opaque tickets an observer can link across connections) and
// binders, or the identity the server selected.
func decodePSK(e *Extension, data cryptobyte.String, at extAt) bool {
	if !at.client() {
		var sel uint16
		if !data.ReadUint16(&sel) || !data.Empty() {
			return false
		}
		e.Value = uint32(sel)
		return true
	}
	var ids, binders cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&ids) || !data.ReadUint16LengthPrefixed(&binders) || !data.Empty() {
		return false
	}
	for !ids.Empty() {
		var id []byte
		var age uint32
		if !readUint16Prefixed(&ids, &id) || !ids.ReadUint32(&age) {
			return false
		}
		e.IdentityLengths = append(e.IdentityLengths, len(id))
	}
	return true
}

// decodeEarlyData reads early_data (RFC 8446 §4.2.10): empty, except in a
// NewSessionTicket, where it caps the 0-RTT data.
func decodeEarlyData(e *Extension, data cryptobyte.String, at extAt) bool {
	if at.msg != TypeNewSessionTicket {
		return true
	}
	return data.ReadUint32(&e.Value) && data.Empty()
}

// decodeCookie reads cookie (RFC 8446 §4.2.2): opaque, kept by size.
func decodeCookie(e *Extension, data cryptobyte.String, _ extAt) bool {
	var c []byte
	if !readUint16Prefixed(&data, &c) || !data.Empty() {
		return false
	}
	e.Value = uint32(len(c))
	return true
}

// decodeECH reads the client's encrypted_client_hello (RFC 9849 §5): the
// outer ClientHello carries the real one encrypted, so the SNI an observer
// reads is the public name. The server's retry configurations or
// confirmation are kept by size.
func decodeECH(e *Extension, data cryptobyte.String, at extAt) bool {
	if !at.client() {
		return true
	}
	var x ECHExtension
	if !data.ReadUint8(&x.Type) {
		return false
	}
	if x.Type == 1 {
		e.ECH = &x // the inner marker
		return true
	}
	var enc, payload []byte
	if x.Type != 0 || !data.ReadUint16(&x.KDF) || !data.ReadUint16(&x.AEAD) || !data.ReadUint8(&x.ConfigID) ||
		!readUint16Prefixed(&data, &enc) || !readUint16Prefixed(&data, &payload) || !data.Empty() {
		return false
	}
	x.EncLength, x.PayloadLength = len(enc), len(payload)
	e.ECH = &x
	return true
}

// decodeValue16 reads one uint16 (record_size_limit, RFC 8449 §4).
func decodeValue16(e *Extension, data cryptobyte.String, _ extAt) bool {
	var n uint16
	if !data.ReadUint16(&n) || !data.Empty() {
		return false
	}
	e.Value = uint32(n)
	return true
}

// decodeValue8 reads one byte (heartbeat's mode, RFC 6520 §2).
func decodeValue8(e *Extension, data cryptobyte.String, _ extAt) bool {
	var n uint8
	if !data.ReadUint8(&n) || !data.Empty() {
		return false
	}
	e.Value = uint32(n)
	return true
}

// decodeMaxFragmentLength reads max_fragment_length (RFC 6066 §4): codes
// 1–4 for 2^9–2^12 bytes.
func decodeMaxFragmentLength(e *Extension, data cryptobyte.String, at extAt) bool {
	return decodeValue8(e, data, at) && e.Value >= 1 && e.Value <= 4
}
