package scenario

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Plain-text and Markdown renderings of the compare table and the hop
// path, for the CLI printers. Every string that may hold peer bytes (a
// greeting, capabilities, an error, a Received: header) goes through
// wire.SafeString; the plain text is then made ASCII but for the arrow
// that names a hop's two ends (legArrow), so that its columns line up in
// any terminal (a width-1 cell is a rune).

// RenderWidth is the width the plain-text renderings fit in.
const RenderWidth = 80

// RenderCompare writes the compare table: one column per leg, one row per
// property. markdown selects a Markdown table instead of fixed-width text.
func RenderCompare(w io.Writer, t CompareTable, markdown bool) error {
	if len(t.Rows) == 0 {
		_, err := io.WriteString(w, "no session ran, so there is nothing to compare\n")
		return err
	}
	header := []string{""}
	for _, r := range t.Rows {
		header = append(header, legTitle(r))
	}
	prop := func(name string, f func(CompareRow) string) []string {
		row := []string{name}
		for _, r := range t.Rows {
			row = append(row, f(r))
		}
		return row
	}
	rows := [][]string{
		prop("TLS begins", func(r CompareRow) string {
			switch r.Boundary {
			case lens.BoundaryStartTLS:
				return "after STARTTLS"
			case lens.BoundaryImplicit:
				return "at the first byte"
			}
			return "never"
		}),
		prop("cleartext bytes before TLS", func(r CompareRow) string {
			return fmt.Sprintf("%d (%d sent, %d received)", r.CleartextBytes, r.CleartextC2S, r.CleartextS2C)
		}),
		prop("round trips before TLS", func(r CompareRow) string { return strconv.Itoa(r.RoundTrips) }),
		prop("TLS handshake in the clear", func(r CompareRow) string { return fmt.Sprintf("%d bytes", r.HandshakeClearBytes) }),
		prop("connect to 1st encrypted", func(r CompareRow) string {
			if r.ToEncrypted < 0 {
				return "-"
			}
			return wire.FormatDuration(r.ToEncrypted)
		}),
		prop("server name (greeting)", func(r CompareRow) string { return orDash(r.GreetingHost) }),
		prop("client name (EHLO)", func(r CompareRow) string { return orDash(r.ClientName) }),
		prop("capabilities in clear", func(r CompareRow) string { return orDash(strings.Join(r.Capabilities, ", ")) }),
		prop("password in clear", func(r CompareRow) string { return yesNo(r.CredentialsInClear) }),
		prop("SNI (ClientHello)", func(r CompareRow) string { return orDash(r.SNI) }),
		prop("ALPN offered", func(r CompareRow) string { return orDash(r.ALPNOffered) }),
		prop("ALPN chosen, in clear", func(r CompareRow) string { return orDash(r.ALPNChosen) }),
		prop("TLS version", func(r CompareRow) string { return orDash(r.TLSVersion) }),
		prop("downgradeable", func(r CompareRow) string { return r.DowngradeWhy }),
		prop("certificate checked by", func(r CompareRow) string { return r.CertCheck }),
	}
	for _, r := range t.Rows {
		if r.Err != "" {
			rows = append(rows, prop("error", func(r CompareRow) string { return orDash(r.Err) }))
			break
		}
	}
	if markdown {
		return writeMarkdownTable(w, header, rows)
	}
	labelW := 26
	colW := (RenderWidth-labelW)/len(t.Rows) - 2
	if colW < 12 {
		colW = 12
	}
	widths := []int{labelW}
	for range t.Rows {
		widths = append(widths, colW)
	}
	return writeTextTable(w, widths, header, rows)
}

// legTitle is a compare column's heading: the leg and how TLS begins.
func legTitle(r CompareRow) string {
	leg := r.Leg
	if leg == "" {
		leg = "session"
	}
	switch {
	case r.Proto == protocol.HTTP:
		return leg + " HTTPS"
	case r.Boundary == lens.BoundaryStartTLS:
		return leg + " STARTTLS"
	case r.Boundary == lens.BoundaryImplicit:
		return leg + " implicit TLS"
	}
	return leg + " cleartext"
}

// RenderHops writes a message's path: one line per hop as a diagram
// ("MUA --[587 TLS 1.3, certificate verified]--> MSA"), then a table of
// what an observer on each hop reads, then the Received: headers the
// message carried. markdown selects Markdown.
func RenderHops(w io.Writer, hops []Hop, markdown bool) error {
	if len(hops) == 0 {
		_, err := io.WriteString(w, "no hop ran, so there is no path to draw\n")
		return err
	}
	bw := bufio.NewWriter(w)
	clean := asciiSafe
	if markdown {
		clean = mdSafe
		fmt.Fprintln(bw, "| # | hop | port | TLS | certificate | an observer on the path reads |")
		fmt.Fprintln(bw, "|---|---|---|---|---|---|")
		for i, h := range hops {
			fmt.Fprintf(bw, "| %d | %s | %s | %s | %s | %s |\n", i+1, clean(hopName(h)), clean(hopPort(h)),
				clean(h.TLS), clean(orDash(hopCert(h))), clean(hopObserver(h)))
		}
	} else {
		for i, h := range hops {
			fmt.Fprintf(bw, "%2d  %s\n", i+1, clean(hopArrow(h)))
		}
		fmt.Fprintln(bw)
		header := []string{"#", "hop", "TLS", "certificate", "an on-path observer reads"}
		var rows [][]string
		for i, h := range hops {
			rows = append(rows, []string{strconv.Itoa(i + 1), hopName(h) + portSuffix(h), h.TLS, orDash(hopCert(h)), hopObserver(h)})
		}
		if err := writeTextTable(bw, []int{2, 20, 10, 13, RenderWidth - 2 - 20 - 10 - 13 - 8}, header, rows); err != nil {
			return err
		}
	}
	for _, h := range hops {
		if len(h.Received) == 0 {
			continue
		}
		fmt.Fprintf(bw, "\nReceived: headers of the message on %s (newest first):\n", clean(h.Leg))
		for _, r := range h.Received {
			if markdown {
				fmt.Fprintf(bw, "- `%s`\n", strings.ReplaceAll(wire.SafeString(r), "`", "'"))
			} else {
				for _, l := range wrap(asciiSafe(r), RenderWidth-4) {
					fmt.Fprintf(bw, "    %s\n", l)
				}
			}
		}
	}
	return bw.Flush()
}

// hopName names a hop by its two ends as its leg's name does ("MUA→MSA",
// the LegHop constants), in the text and Markdown alike: one connection,
// one name, in the timeline, the table and the Received: headings.
func hopName(h Hop) string {
	if h.To == "" {
		return h.From
	}
	return h.From + legArrow + h.To
}

func hopPort(h Hop) string {
	if h.Port == 0 {
		return "-"
	}
	return strconv.Itoa(h.Port)
}

func portSuffix(h Hop) string {
	if h.Port == 0 {
		return " (local)"
	}
	return fmt.Sprintf(" (%d)", h.Port)
}

func hopCert(h Hop) string {
	if h.Cert == "" {
		return ""
	}
	return h.Cert
}

func hopObserver(h Hop) string {
	if h.Err != "" {
		return h.Observer + "; failed: " + h.Err
	}
	return h.Observer
}

// hopArrow is a hop's line of the diagram.
func hopArrow(h Hop) string {
	label := h.TLS
	if h.Port != 0 {
		label = strconv.Itoa(h.Port) + " " + label
	}
	if h.Cert != "" {
		label += ", certificate " + h.Cert
	}
	to := h.To
	if to == "" {
		to = "?"
	}
	return fmt.Sprintf("%-8s --[%s]--> %s", h.From, label, to)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "no"
}

// writeTextTable writes a fixed-width table: cells made ASCII-safe and
// word-wrapped to their column's width, columns two spaces apart, a rule
// under the header.
func writeTextTable(w io.Writer, widths []int, header []string, rows [][]string) error {
	bw := bufio.NewWriter(w)
	line := func(cells []string) {
		cols := make([][]string, len(widths))
		height := 1
		for i := range widths {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			cols[i] = wrap(asciiSafe(c), widths[i])
			height = max(height, len(cols[i]))
		}
		for l := range height {
			var sb strings.Builder
			for i, wd := range widths {
				s := ""
				if l < len(cols[i]) {
					s = cols[i][l]
				}
				if i == len(widths)-1 {
					sb.WriteString(s)
				} else {
					sb.WriteString(s + strings.Repeat(" ", wd-utf8.RuneCountInString(s)+2))
				}
			}
			fmt.Fprintln(bw, strings.TrimRight(sb.String(), " "))
		}
	}
	line(header)
	var rule []string
	for _, wd := range widths {
		rule = append(rule, strings.Repeat("-", wd))
	}
	fmt.Fprintln(bw, strings.Join(rule, "  "))
	for _, r := range rows {
		line(r)
	}
	return bw.Flush()
}

// writeMarkdownTable writes a GitHub-flavoured Markdown table.
func writeMarkdownTable(w io.Writer, header []string, rows [][]string) error {
	bw := bufio.NewWriter(w)
	row := func(cells []string) {
		for i := range cells {
			cells[i] = mdSafe(cells[i])
		}
		fmt.Fprintf(bw, "| %s |\n", strings.Join(cells, " | "))
	}
	row(append([]string(nil), header...))
	fmt.Fprintf(bw, "|%s\n", strings.Repeat("---|", len(header)))
	for _, r := range rows {
		row(append([]string(nil), r...))
	}
	return bw.Flush()
}

// wrap breaks s into lines of at most width runes (s is asciiSafe's: one
// cell a rune), at spaces where it can, inside a word where it must.
func wrap(s string, width int) []string {
	if width < 1 {
		width = 1
	}
	runes := utf8.RuneCountInString
	var out []string
	var cur string
	for _, word := range strings.Fields(s) {
		for runes(word) > width {
			if cur != "" {
				out = append(out, cur)
				cur = ""
			}
			cut := len(string([]rune(word)[:width]))
			out = append(out, word[:cut])
			word = word[cut:]
		}
		switch {
		case cur == "":
			cur = word
		case runes(cur)+1+runes(word) <= width:
			cur += " " + word
		default:
			out = append(out, cur)
			cur = word
		}
	}
	if cur != "" || len(out) == 0 {
		out = append(out, cur)
	}
	return out
}

// asciiReplacements are the non-ASCII characters mailwire's own text uses,
// spelled in ASCII. The arrow of a hop's name is not among them: the
// timeline labels the leg "MUA→MSA (587)", and the summary names it so too.
var asciiReplacements = map[rune]string{
	'←': "<-", '§': "Section ", '—': "-", '–': "-", '…': "...", '“': `"`, '”': `"`, '’': "'",
}

// asciiSafe makes s safe to print and ASCII but for the hop arrow (→, one
// cell, as in the timeline's C→S): controls and escapes through
// wire.SafeString, then every other non-ASCII rune spelled in ASCII or
// escaped as \uXXXX, so a cell's width is its number of runes.
func asciiSafe(s string) string {
	s = wire.SafeString(s)
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf, string(r) == legArrow:
			sb.WriteRune(r)
		case asciiReplacements[r] != "":
			sb.WriteString(asciiReplacements[r])
		case r <= 0xffff:
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			fmt.Fprintf(&sb, `\U%08x`, r)
		}
	}
	return sb.String()
}

// mdSafe makes s safe inside a Markdown table cell: SafeString, then the
// characters Markdown would read as markup escaped.
func mdSafe(s string) string {
	s = wire.SafeString(s)
	r := strings.NewReplacer(`\`, `\\`, "|", `\|`, "`", "\\`", "*", `\*`, "_", `\_`, "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`)
	return r.Replace(s)
}
