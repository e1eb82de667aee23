// Package monitor is the lab monitor (issue 15 §4): it watches every
// connection that clients make to the embedded lab (Thunderbird, swaks,
// openssl, curl, mailwire itself) from the server's side, and turns each
// into the same annotated event stream a mailwire session has, with flags
// for what a careless client did.
//
// How it sees: the lab hands each admitted connection's raw bytes to
// Monitor.Watch (lab.Options.Watch), exactly as they crossed the wire, and
// its servers' TLS secrets to the Monitor's key log (lab.Options.
// KeyLogWriter). On the server's side what the server reads is
// client-to-server. Cleartext lines go through the protocol package's line
// readers and annotations; TLS goes through the dissector, which with the
// server's TLS 1.3 secrets also decrypts the handshake and the application
// data (dissect.NewTrafficKeyLog), so the lines inside TLS are shown as the
// server read and wrote them (LayerDecrypted, readable by the endpoints
// only). Under TLS 1.2 the monitor shows the records, not the lines: it
// decrypts TLS 1.3 only. Who could see what is the lens's (sessions/lens)
// to say, as for any stream.
//
// The flags, and exactly what each rests on:
//
//   - FlagCleartextCredentials: a credential crossed the wire readable
//     (AUTH PLAIN/LOGIN, IMAP LOGIN, POP3 USER/PASS before TLS), as the
//     eavesdropper's lens observed it (lens.Observation.Credentials).
//   - FlagStartTLSIgnored: the server offered STARTTLS (STLS) in a
//     capability list the client read in the clear (EHLO, CAPA, IMAP
//     CAPABILITY or the greeting's response code), and the client then
//     logged in or sent mail (AUTH, USER, PASS, APOP, LOGIN, AUTHENTICATE,
//     MAIL, RCPT, DATA, BDAT) without it. A POP3 client that never asks
//     CAPA was never told: it is not flagged for this, though its USER/PASS
//     in cleartext is flagged above.
//   - FlagCertNotVerified: only on a lab endpoint in lab.ModeOtherName,
//     whose certificate is issued by the lab CA for lab.OtherName alone.
//     A client that checks the server's name (RFC 9525 §6, RFC 8314 §5.3)
//     ends the handshake there; a client that went on to send data inside
//     TLS did not check it. What cannot be told apart: a client that
//     checks the chain but not the name, and one that checks nothing (both
//     are flagged); a client that does not trust the lab CA and one that
//     verifies (both end the handshake: CertRefused); a client that
//     accepted the certificate but sent nothing before closing (CertPending
//     stays). A client that asked for lab.OtherName in its SNI got the
//     right certificate and is not flagged. On the lab's normal ports the
//     certificate is right for mail.lab.test, so a client that does not
//     verify looks exactly like one that does: nothing is flagged there.
//
// Bounds: each connection's events are kept within a wire.Budget
// (DefaultBudget: 2,000 events, 16 KiB per event, 256 KiB in all), its
// parsers hold at most a line (maxLine) or a body prefix, and the Monitor
// holds at most MaxClients connections in full; past it the oldest closed
// ones age out to a one-line Summary, of which MaxSummaries are kept.
// Open connections are bounded by the lab's own MaxConns.
package monitor
