package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The self-signed certificate's files in the data folder.
const (
	CertFile = "tls-cert.pem"
	KeyFile  = "tls-key.pem"
)

// Certificate loads the certificate in certFile and keyFile, or, when both
// are "", the self-signed one in dir, made there on first use or once
// expired (an ECDSA P-256 key, for localhost and this host's name, valid
// for a year; the key file readable by its owner only). created tells it
// was just made.
func Certificate(certFile, keyFile, dir string) (cert tls.Certificate, created bool, err error) {
	if (certFile == "") != (keyFile == "") {
		return cert, false, errors.New("--tls-cert and --tls-key go together")
	}
	if certFile != "" {
		cert, err = loadPair(certFile, keyFile)
		return cert, false, err
	}
	certFile, keyFile = filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if _, err := os.Stat(certFile); err == nil {
		if cert, err = loadPair(certFile, keyFile); err != nil {
			return cert, false, err
		}
		if time.Now().Before(cert.Leaf.NotAfter) {
			return cert, false, nil
		}
		// Ours and expired: a new one replaces it (its fingerprint printed).
		if err := errors.Join(os.Remove(certFile), os.Remove(keyFile)); err != nil {
			return cert, false, fmt.Errorf("replace expired certificate: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return cert, false, err
	}
	if err := selfSign(certFile, keyFile); err != nil {
		return cert, false, fmt.Errorf("self-signed certificate in %s: %w", dir, err)
	}
	cert, err = loadPair(certFile, keyFile)
	return cert, err == nil, err
}

func loadPair(certFile, keyFile string) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return cert, fmt.Errorf("TLS certificate %s, key %s: %w", certFile, keyFile, err)
	}
	return cert, nil
}

// Fingerprint is the SHA-256 of a certificate's DER, as browsers show it.
func Fingerprint(cert tls.Certificate) string {
	sum := sha256.Sum256(cert.Certificate[0])
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = strings.ToUpper(hex.EncodeToString([]byte{b}))
	}
	return strings.Join(parts, ":")
}

// selfSign makes the certificate, and its key unless a start that stopped
// between the two left the key alone: that key is kept (removing it could
// pull it from under another start writing its certificate now).
func selfSign(certFile, keyFile string) error {
	key, err := leftKey(keyFile)
	if err != nil {
		return err
	}
	fresh := key == nil
	if fresh {
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return err
		}
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	names := []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		names = append(names, h)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "spoor serve", Organization: []string{"spoor (self-signed)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              names,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return err
	}
	// The key first: a certificate without its key is never left behind.
	if fresh {
		if err := writeNew(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
			return err
		}
	}
	err = writeNew(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	if !fresh && errors.Is(err, fs.ErrExist) {
		return nil // another start certified the same key first
	}
	return err
}

// leftKey reads the ECDSA key a stopped start left in keyFile, if any
// (nil, nil when there is none). Its mode must still be owner-only.
func leftKey(keyFile string) (*ecdsa.PrivateKey, error) {
	fi, err := os.Lstat(keyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: a key without its certificate, not a file of mode 0600: remove it", keyFile)
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	var key any
	if block != nil {
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if block == nil || err != nil || !ok {
		return nil, fmt.Errorf("%s: a key without its certificate, not one spoor wrote: remove it", keyFile)
	}
	return ec, nil
}

// writeNew writes a file that must not exist yet (O_EXCL: never through a
// planted link).
func writeNew(name string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}
