package lab

import (
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"sync"
	"time"
)

// httpsPage is parsed when the lab first serves it, not at every command's
// start.
var httpsPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>mailwire lab</title></head>
<body>
<h1>mailwire lab HTTPS endpoint, for comparison with mail's TLS modes</h1>
<p>This page came to you over {{.Version}} ({{.Proto}}), with TLS from the first byte:
the same implicit TLS that ports 465, 993 and 995 use. Ports 25, 587, 143 and 110
start in cleartext and upgrade with STARTTLS or STLS.</p>
<table>
<tr><th>port</th><th>protocol</th><th>TLS</th><th>purpose</th><th>address</th></tr>
{{range .Endpoints}}<tr><td>{{.Canonical}}</td><td>{{.Proto}}</td><td>{{.TLS}}</td><td>{{.Purpose}}</td><td>{{.Addr}}</td></tr>
{{end}}</table>
</body>
</html>
`))
})

// serveHTTPS runs a small net/http server with ALPN h2 and http/1.1.
func (l *Lab) serveHTTPS(spec endpointSpec, ln *guardedListener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		data := struct {
			Version, Proto string
			Endpoints      []Endpoint
		}{Version: "TLS", Proto: r.Proto, Endpoints: l.endpoints}
		if r.TLS != nil {
			data.Version = tls.VersionName(r.TLS.Version)
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		if err := httpsPage().Execute(w, data); err != nil {
			l.errLog.Printf("https: render: %v", err)
		}
	})
	lim := l.opts.Limits
	s := &http.Server{
		Handler: mux,
		// A copy: ServeTLS adds "h2" and "http/1.1" to NextProtos, and the
		// mail servers must not offer them.
		TLSConfig:         l.tlsConfig.Clone(),
		ReadHeaderTimeout: min(lim.IdleTimeout, 10*time.Second),
		ReadTimeout:       lim.IdleTimeout,
		WriteTimeout:      lim.IdleTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          l.errLog,
	}
	l.closers = append(l.closers, func() error {
		if err := s.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("close https: %w", err)
		}
		return closeListener(ln)
	})
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		if err := s.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.errLog.Printf("https: serve: %v", err)
		}
	}()
	return nil
}
