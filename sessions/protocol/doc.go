// Package protocol reads the mail protocols' lines as a client sees them:
// SMTP replies, POP3 and IMAP responses (with bounded readers), the
// capabilities a server advertises, the credentials a client's lines carry
// and their masking, and the annotation keys of each reply. The engine's
// drivers, the attack scenarios and mitm share it.
package protocol
