package wire

// VerifyMode says how the server certificate is checked.
type VerifyMode string

const (
	VerifySystem VerifyMode = "system roots"
	VerifyPool   VerifyMode = "lab CA" // Options.RootCAs, typically the lab's CA
	VerifyCAFile VerifyMode = "CA file"
	// VerifyOff accepts any certificate. The runner still runs the check and
	// reports its result, and emits a loud warning note: without it anyone on
	// the path can impersonate the server (RFC 8314 §4.1 and RFC 6125).
	VerifyOff VerifyMode = "off"
)
