package taxii

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
)

// TAXII's identifier (section 2) is an RFC 4122 version 4 UUID: the
// collection and status ids a server gives must have its form.

// NewID returns a random version 4 UUID (a status id).
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return uuid4(b)
}

// DerivedID returns a version 4 UUID whose 122 free bits are taken from
// SHA-256 over name: pseudo-random as section 4.4 of RFC 4122 allows, and
// the same for the same name, so an id derived from what a collection is
// survives restarts and is the same on every server over one store.
func DerivedID(name string) string {
	sum := sha256.Sum256([]byte("spoor taxii id\x00" + name))
	var b [16]byte
	copy(b[:], sum[:16])
	return uuid4(b)
}

// uuid4 sets the version (4) and variant (RFC 4122) bits of b and writes
// it in the 8-4-4-4-12 form.
func uuid4(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
