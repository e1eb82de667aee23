package tui

import (
	"fmt"
	"image/color"
	"math"
	"reflect"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
)

// WCAG 2.2 contrast (success criteria 1.4.3 and 1.4.6): the ratio
// (L1 + 0.05) / (L2 + 0.05) of the relative luminances of the lighter and
// the darker colour, from sRGB.
func relativeLuminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	lin := func(v uint32) float64 {
		s := float64(v) / 0xffff
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

func contrastRatio(a, b color.Color) float64 {
	la, lb := relativeLuminance(a), relativeLuminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// contrastBackgrounds are the terminal backgrounds a theme must read on: a
// terminal's own background is not known (it answers the query with it,
// or not at all), so each theme is held to the lightest dark background
// and the darkest light one in common use, as well as black and white.
var contrastBackgrounds = map[bool][]string{
	true:  {"#000000", "#1E1E1E", "#282C34"}, // black, VS Code Dark+, One Dark
	false: {"#FFFFFF", "#F6F8FA", "#FDF6E3"}, // white, GitHub's canvas, Solarized Light
}

// styleUse is one style of the TUI as the contrast test reads it.
type styleUse struct {
	name  string
	style lipgloss.Style
}

// allStyles lists every lipgloss.Style a Styles value holds: its own
// fields, the help bar's and the text fields', by name.
func allStyles(st Styles) []styleUse {
	var out []styleUse
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for i := range v.NumField() {
			f, fv := v.Type().Field(i), v.Field(i)
			if !f.IsExported() {
				continue
			}
			switch s := fv.Interface().(type) {
			case lipgloss.Style:
				out = append(out, styleUse{prefix + f.Name, s})
			default:
				if fv.Kind() == reflect.Struct {
					walk(prefix+f.Name+".", fv)
				}
			}
		}
	}
	walk("", reflect.ValueOf(st))
	return out
}

// nonText are the styles that draw no text, only lines (the boxes): held
// to WCAG 1.4.11's 3:1 for the graphics a user needs to see a part of the
// screen by, instead of 4.5:1.
var nonText = map[string]bool{"Border": true}

// contrastTheme is one theme on one background.
type contrastTheme struct {
	name   string
	theme  Theme
	isDark bool
	min    float64 // least ratio for text
}

var contrastThemes = []contrastTheme{
	{"dark", ThemeDark, true, 4.5},
	{"light", ThemeLight, false, 4.5},
	// AAA (1.4.6): what high contrast promises.
	{"high-contrast dark", ThemeHighContrast, true, 7},
	{"high-contrast light", ThemeHighContrast, false, 7},
}

// pairRatio is the least contrast of a style's text on every reference
// background, as a terminal of profile p draws it: with its own
// background colour, else the terminal's. ok is false when the style
// sets no text colour.
func pairRatio(s lipgloss.Style, bgs []string, p colorprofile.Profile) (ratio float64, on string, ok bool) {
	fg, bg := s.GetForeground(), s.GetBackground()
	if _, none := fg.(lipgloss.NoColor); none || fg == nil {
		return 0, "", false
	}
	fg = p.Convert(fg)
	if _, none := bg.(lipgloss.NoColor); !none && bg != nil {
		bg = p.Convert(bg)
		return contrastRatio(fg, bg), fmt.Sprint(bg), true
	}
	ratio = math.Inf(1)
	for _, b := range bgs {
		if r := contrastRatio(fg, lipgloss.Color(b)); r < ratio {
			ratio, on = r, b
		}
	}
	return ratio, on, true
}

// TestContrast computes the WCAG contrast ratio of every style of
// styles.go (the help bar's and the text fields' included) in every theme,
// in true colour and as a 256-colour terminal rounds it, on the
// backgrounds the theme is for: text reaches 4.5:1 (7:1 in high
// contrast), the boxes' borders 3:1 (4.5:1). Large or bold text gets no
// allowance: the terminal's cells are one size. No style may be faint.
func TestContrast(t *testing.T) {
	for _, ct := range contrastThemes {
		t.Run(ct.name, func(t *testing.T) {
			st := ThemeStyles(ct.theme, ct.isDark)
			bgs := contrastBackgrounds[st.IsDark]
			if st.IsDark != ct.isDark {
				t.Fatalf("IsDark = %v, want %v", st.IsDark, ct.isDark)
			}
			// least keeps, per group, the lowest ratio and the style it
			// belongs to, for the log (the figures the README cites).
			least := map[string]string{}
			low := map[string]float64{}
			note := func(group, name string, p colorprofile.Profile, r float64) {
				if v, ok := low[group]; !ok || r < v {
					low[group], least[group] = r, fmt.Sprintf("%.2f:1 (%s, %s)", r, name, p)
				}
			}
			for _, u := range allStyles(st) {
				if u.style.GetFaint() {
					t.Errorf("%s is faint: a terminal draws it at a fraction of its colour nobody knows", u.name)
				}
				group := "text"
				if strings.HasPrefix(u.name, "Help.") {
					group = "help bar"
				}
				for _, p := range []colorprofile.Profile{colorprofile.TrueColor, colorprofile.ANSI256} {
					if nonText[u.name] {
						border := lipgloss.NewStyle().Foreground(u.style.GetBorderTopForeground())
						r, on, ok := pairRatio(border, bgs, p)
						want := 3.0
						if ct.min > 4.5 {
							want = 4.5
						}
						if !ok || r < want {
							t.Errorf("%s border (%s): %.2f:1 on %s, want ≥ %.1f:1", u.name, p, r, on, want)
						}
						note("borders", u.name, p, r)
						continue
					}
					r, on, ok := pairRatio(u.style, bgs, p)
					if !ok {
						t.Errorf("%s sets no text colour: the terminal's default, whose contrast is unknown", u.name)
						continue
					}
					if r < ct.min {
						t.Errorf("%s (%s): %.2f:1 on %s, want ≥ %.1f:1", u.name, p, r, on, ct.min)
					}
					note(group, u.name, p, r)
				}
			}
			t.Logf("least contrast: text %s; help bar %s; borders %s", least["text"], least["help bar"], least["borders"])
		})
	}
}

// TestContrastCoversEveryStyle: a style added to Styles is in the test
// (allStyles finds it by reflection), the help bar's and the fields' too.
func TestContrastCoversEveryStyle(t *testing.T) {
	names := map[string]bool{}
	for _, u := range allStyles(NewStyles(true)) {
		names[u.name] = true
	}
	for _, want := range []string{"Text", "Muted", "Selected", "Lens", "Border", "Help.ShortDesc", "Help.ShortKey",
		"Help.FullSeparator", "Input.Focused.Prompt", "Input.Blurred.Text", "VerdictUnsafe", "Match", "Headline", "Narration"} {
		if !names[want] {
			t.Errorf("%s is not checked", want)
		}
	}
}

func TestContrastRatioKnownValues(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want float64
	}{
		{"#000000", "#FFFFFF", 21},
		{"#FFFFFF", "#FFFFFF", 1},
		{"#767676", "#FFFFFF", 4.54}, // the lightest grey that passes AA on white
	} {
		if got := contrastRatio(lipgloss.Color(c.a), lipgloss.Color(c.b)); math.Abs(got-c.want) > 0.01 {
			t.Errorf("contrast(%s, %s) = %.3f, want %.2f", c.a, c.b, got, c.want)
		}
	}
}

func TestParseTheme(t *testing.T) {
	for in, want := range map[string]Theme{"": ThemeAuto, "auto": ThemeAuto, "dark": ThemeDark, "Light": ThemeLight, "high-contrast": ThemeHighContrast} {
		if got, err := ParseTheme(in); err != nil || got != want {
			t.Errorf("ParseTheme(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseTheme("solarized"); err == nil || !strings.Contains(err.Error(), "dark, light or high-contrast") {
		t.Errorf("ParseTheme(solarized) = %v, want an error naming the themes", err)
	}
}

func TestColorFGBG(t *testing.T) {
	for _, c := range []struct {
		in       string
		dark, ok bool
	}{
		{"0;15", false, true}, // black on white
		{"15;0", true, true},
		{"7;default;0", true, true},
		{"0;default;15", false, true},
		{"0;7", false, true},
		{"15;8", true, true},
		{"", false, false},
		{"15", false, false},
		{"0;default", false, false},
		{"0;16", false, false},
		{"0;+7", false, false},
	} {
		dark, ok := colorFGBGIsDark(c.in)
		if dark != c.dark || ok != c.ok {
			t.Errorf("colorFGBGIsDark(%q) = %v, %v; want %v, %v", c.in, dark, ok, c.dark, c.ok)
		}
	}
}

// TestThemeFallback: a terminal that does not answer the background query
// is read from COLORFGBG (body text was #d7ffff on white); its answer,
// when it comes, wins; --theme dark or light overrides both.
func TestThemeFallback(t *testing.T) {
	env := func(v string) tea.EnvMsg { return tea.EnvMsg{"TERM=xterm-256color", "COLORFGBG=" + v} }
	t.Run("no answer, COLORFGBG light", func(t *testing.T) {
		m := newTestModel(t, 80, 24, nil, nil)
		update(t, m, env("0;15"))
		if m.common.Styles.IsDark {
			t.Fatal("COLORFGBG=0;15 (black on white) left the dark styles")
		}
		if got := m.help.Styles.ShortDesc.GetForeground(); got != m.common.Styles.Muted.GetForeground() {
			t.Errorf("help bar not restyled: %v", got)
		}
	})
	t.Run("the answer wins", func(t *testing.T) {
		m := newTestModel(t, 80, 24, nil, nil)
		update(t, m, tea.BackgroundColorMsg{Color: color.Black})
		update(t, m, env("0;15"))
		if !m.common.Styles.IsDark {
			t.Fatal("COLORFGBG overrode the terminal's answer (dark)")
		}
		update(t, m, lightBackground())
		if m.common.Styles.IsDark {
			t.Fatal("a light answer left the dark styles")
		}
	})
	t.Run("--theme", func(t *testing.T) {
		for _, c := range []struct {
			theme Theme
			dark  bool
		}{{ThemeLight, false}, {ThemeDark, true}} {
			m := newModel(Options{Theme: c.theme})
			update(t, m, env("15;0"))
			update(t, m, tea.BackgroundColorMsg{Color: color.Black})
			update(t, m, lightBackground())
			update(t, m, env("0;15"))
			if m.common.Styles.IsDark != c.dark || m.common.Styles.Theme != c.theme {
				t.Errorf("--theme %s: IsDark %v, theme %s", c.theme, m.common.Styles.IsDark, m.common.Styles.Theme)
			}
		}
	})
	t.Run("high contrast follows the background", func(t *testing.T) {
		m := newModel(Options{Theme: ThemeHighContrast})
		update(t, m, env("0;15"))
		st := m.common.Styles
		if st.IsDark || st.Theme != ThemeHighContrast || st.Text.GetForeground() != paletteHighContrastLight.fg {
			t.Errorf("high contrast on COLORFGBG=0;15: IsDark %v, theme %s", st.IsDark, st.Theme)
		}
	})
}
