package tlsprobe

import "github.com/mailwire/mailwire/sessions/tlsmsg"

func versionName(v uint16) string { return tlsmsg.VersionName(v) }
