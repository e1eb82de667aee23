//go:build !lab_pop3

package lab

// TEMPORARY until pop3.go (ServePOP3) lands: POP3 endpoints answer and close.
func (l *Lab) servePOP3(spec endpointSpec, ln *guardedListener) error {
	l.closers = append(l.closers, ln.Close)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("-ERR [SYS/TEMP] POP3 is not built yet\r\n"))
			c.Close()
		}
	}()
	return nil
}
