package tlsprobe

import "github.com/mailwire/mailwire/sessions/tlsmsg"

// SuiteName names a cipher suite by its IANA name. The engine's table
// (tlsmsg.CipherSuiteName) names the suites Go implements and a few more;
// the registry here names every suite a probe can offer, and
// TestRegistryAgreesWithEngine holds the two to the same names.
func SuiteName(id uint16) string {
	if s, ok := infos[id]; ok {
		return s.Name
	}
	return tlsmsg.CipherSuiteName(id)
}

func versionName(v uint16) string { return tlsmsg.VersionName(v) }
