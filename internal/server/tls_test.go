package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSelfSignedCertificate(t *testing.T) {
	dir := t.TempDir()
	first, made, err := Certificate("", "", dir)
	if err != nil || !made {
		t.Fatalf("first start: made %v, %v", made, err)
	}
	if err := first.Leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	if err := first.Leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if _, ok := first.PrivateKey.(*ecdsa.PrivateKey); !ok {
		t.Errorf("key %T, want ECDSA", first.PrivateKey)
	}
	again, made, err := Certificate("", "", dir)
	if err != nil || made || Fingerprint(again) != Fingerprint(first) {
		t.Errorf("second start: made %v, %v; the same certificate: %v", made, err, Fingerprint(again) == Fingerprint(first))
	}
	// An expired one of ours is replaced.
	writeExpired(t, dir)
	fresh, made, err := Certificate("", "", dir)
	if err != nil || !made || !time.Now().Before(fresh.Leaf.NotAfter) {
		t.Errorf("expired certificate: made %v, %v, not after %v", made, err, fresh.Leaf.NotAfter)
	}
	// Given files are used as they are; half a pair is refused.
	if _, _, err := Certificate(filepath.Join(dir, CertFile), "", ""); err == nil {
		t.Error("--tls-cert without --tls-key accepted")
	}
	given, made, err := Certificate(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile), "")
	if err != nil || made || Fingerprint(given) != Fingerprint(fresh) {
		t.Errorf("given files: made %v, %v", made, err)
	}
}

func writeExpired(t *testing.T, dir string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"localhost"},
		NotBefore: time.Now().AddDate(-2, 0, 0), NotAfter: time.Now().AddDate(-1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	must(t, os.WriteFile(filepath.Join(dir, CertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, KeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
}
