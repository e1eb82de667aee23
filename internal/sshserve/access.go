package sshserve

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Access says who may log in. With neither field set the server is open:
// any client gets in, with any key or none, which New allows on loopback
// only.
type Access struct {
	// Passphrase, when set, lets in whoever types it: asked by
	// keyboard-interactive authentication (RFC 4256), or sent with the
	// password method (RFC 4252 §8) by clients that prefer it.
	Passphrase string
	// AuthorizedKeys, when set, is an OpenSSH authorized_keys file: the
	// holder of a key listed there gets in (RFC 4252 §7). The file is read
	// again when it changes, so students can be added during the class.
	AuthorizedKeys string
}

// Mode is how students get in.
type Mode int

const (
	ModeOpen       Mode = iota // anyone who reaches the address
	ModePassphrase             // the class passphrase
	ModeKeys                   // a key of the authorized_keys file
	ModeKeysOrPassphrase
)

// Mode says how students get in with these settings.
func (a Access) Mode() Mode {
	switch {
	case a.Passphrase != "" && a.AuthorizedKeys != "":
		return ModeKeysOrPassphrase
	case a.Passphrase != "":
		return ModePassphrase
	case a.AuthorizedKeys != "":
		return ModeKeys
	}
	return ModeOpen
}

// String says it in a few words, for the log and the banner.
func (m Mode) String() string {
	switch m {
	case ModePassphrase:
		return "the class passphrase"
	case ModeKeys:
		return "a key of the authorized_keys file"
	case ModeKeysOrPassphrase:
		return "a key of the authorized_keys file, or the class passphrase"
	}
	return "open: any client, with any key or none"
}

// maxKeysFile bounds the authorized_keys file read: a class list of a few
// hundred keys is some 100 KiB.
const maxKeysFile = 1 << 20

// keySet is the authorized_keys file, read again when its size or time
// changes (checked at most once a second).
type keySet struct {
	path string

	mu      sync.Mutex
	keys    map[string]string // key.Marshal() → comment
	size    int64
	mod     time.Time
	checked time.Time
	logf    func(format string, args ...any)
}

func loadKeySet(path string, logf func(string, ...any)) (*keySet, error) {
	k := &keySet{path: path, logf: logf}
	if err := k.reload(time.Now()); err != nil {
		return nil, err
	}
	if len(k.keys) == 0 {
		return nil, fmt.Errorf("authorized keys %s: no key in the file", path)
	}
	return k, nil
}

// reload reads the file if it changed since the last read.
func (k *keySet) reload(now time.Time) error {
	fi, err := os.Stat(k.path)
	if err != nil {
		return fmt.Errorf("authorized keys: %w", err)
	}
	k.checked = now
	if k.keys != nil && fi.Size() == k.size && fi.ModTime().Equal(k.mod) {
		return nil
	}
	keys, err := readAuthorizedKeys(k.path)
	if err != nil {
		return err
	}
	k.keys, k.size, k.mod = keys, fi.Size(), fi.ModTime()
	return nil
}

// allows reports whether key is in the file, and its comment.
func (k *keySet) allows(key gossh.PublicKey) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if now := time.Now(); now.Sub(k.checked) >= time.Second {
		// A file being edited may not parse: the keys read last stay.
		if err := k.reload(now); err != nil && k.logf != nil {
			k.logf("authorized keys not reloaded (the previous ones stay): %v", err)
		}
	}
	comment, ok := k.keys[string(key.Marshal())]
	return comment, ok
}

// readAuthorizedKeys reads an authorized_keys file (sshd(8), "AUTHORIZED_KEYS
// FILE FORMAT"): one key a line, # comments and blank lines ignored. A line
// that does not parse is an error naming it (ssh.ParseAuthorizedKey skips
// it silently), and so is a line with options: from=, restrict,
// command= and the others would not be enforced here, and a key that
// looks restricted must not get in unrestricted.
func readAuthorizedKeys(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeysFile+1))
	if err != nil {
		return nil, fmt.Errorf("authorized keys %s: %w", path, err)
	}
	if len(data) > maxKeysFile {
		return nil, fmt.Errorf("authorized keys %s: larger than %d bytes", path, maxKeysFile)
	}
	keys := map[string]string{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		key, comment, options, _, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			return nil, fmt.Errorf("authorized keys %s, line %d: not a public key: %w", path, i+1, err)
		}
		if len(options) > 0 {
			return nil, fmt.Errorf("authorized keys %s, line %d: options (%s) are not supported by mailwire serve: list plain keys",
				path, i+1, strings.Join(options, ","))
		}
		keys[string(key.Marshal())] = comment
	}
	return keys, nil
}

// passphraseMatches compares in constant time, over hashes so that the
// length does not show either.
func passphraseMatches(want, got string) bool {
	w, g := sha256.Sum256([]byte(want)), sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(w[:], g[:]) == 1
}

// errWrongPassphrase and errUnknownKey are what the log says of a failed
// login; the client is only told that it failed (RFC 4252 §5.1).
var (
	errWrongPassphrase = errors.New("wrong passphrase")
	errUnknownKey      = errors.New("key not in the authorized_keys file")
)
