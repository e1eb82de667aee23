package sshserve

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"
)

// HostKeyFile is the host key's file name in the state directory, as
// OpenSSH names its own.
const HostKeyFile = "ssh_host_ed25519_key"

// maxHostKeyFile bounds the host key read (an OpenSSH Ed25519 key is about
// 400 bytes, an RSA 4096 one about 3.4 KiB).
const maxHostKeyFile = 64 << 10

// LoadOrCreateHostKey reads the server's host key from path, or makes an
// Ed25519 one there (mode 0600, its directory 0700) when there is none, so
// that students' clients see the same key every class and can pin it
// (RFC 4251 §4.1). created says it was made now. A key that others than
// its owner may read is refused, as sshd refuses one: it would let them
// impersonate the server.
func LoadOrCreateHostKey(path string) (signer gossh.Signer, created bool, err error) {
	signer, err = loadHostKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return signer, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("host key directory: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("generate host key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "mailwire serve host key")
	if err != nil {
		return nil, false, fmt.Errorf("encode host key: %w", err)
	}
	// O_EXCL: two servers started at once must not both write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		signer, err = loadHostKey(path)
		return signer, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("write host key: %w", err)
	}
	if _, err := f.Write(pem.EncodeToMemory(block)); err != nil {
		f.Close()
		os.Remove(path)
		return nil, false, fmt.Errorf("write host key: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("write host key: %w", err)
	}
	signer, err = gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, false, fmt.Errorf("host key: %w", err)
	}
	return signer, true, nil
}

func loadHostKey(path string) (gossh.Signer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("host key %s: mode %#o lets others read it; chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxHostKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	if len(data) > maxHostKeyFile {
		return nil, fmt.Errorf("host key %s: larger than %d bytes, not a key", path, maxHostKeyFile)
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	return signer, nil
}
