// Package fleet is spoor's wire contract over NATS JetStream for hunting a
// whole estate (issue 15): collectors (`spoor ship`) publish the events
// they read in compressed batches, workers (`spoor worker`) consume them
// and write the detections into the case store.
//
//	spoor ship ─ Batch (Encode) ─▶ subject spoor.<tenant>.events.<partition>.<host>
//	                                 stream SPOOR_<tenant> (file storage, one per tenant)
//	                                   └─ durable pull consumer per partition ─▶ spoor worker (Decode)
//
// Names that go into subjects (tenants, hosts) are made safe by Token, a
// reversible escape (long names are hashed). A host belongs to one of
// Partitions partitions (Partition), so that all of one host's events reach
// the worker that owns its partition. The batch format is in batch.go.
package fleet

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Partitions is how many partitions the hosts of a tenant are spread
// over: the unit a worker owns. It is part of the wire contract (a
// collector publishes to a partition's subject), fixed so that collectors
// and workers of one estate always agree.
const Partitions = 16

// maxToken bounds a token's length: a longer name is hashed.
const maxToken = 96

// hashedPrefix starts a hashed token; no escaped name starts with it, as
// an escape is always followed by two upper-case hex digits.
const hashedPrefix = "_h"

// emptyToken stands for the empty name (a subject token cannot be empty).
const emptyToken = "_"

// Token makes name safe as one token of a NATS subject and as part of a
// stream or consumer name: ASCII letters, digits and '-' stay as they are,
// every other byte becomes '_' and two upper-case hex digits ("a.b" is
// "a_2Eb"), the empty name is "_". A result longer than 96 bytes is
// replaced by "_h" and 32 hex digits of the name's SHA-256 (not
// reversible: the batch carries the name itself).
func Token(name string) string {
	if name == "" {
		return emptyToken
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteByte(c)
			continue
		}
		const hexUpper = "0123456789ABCDEF"
		b.WriteByte('_')
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&15])
	}
	if b.Len() > maxToken {
		sum := sha256.Sum256([]byte(name))
		return hashedPrefix + hex.EncodeToString(sum[:16])
	}
	return b.String()
}

// ErrToken: a token that Token did not make, or a hashed one.
var ErrToken = errors.New("not a reversible token")

// ParseToken returns the name Token made tok from; a hashed token, or one
// Token cannot have made, is ErrToken.
func ParseToken(tok string) (string, error) {
	if tok == emptyToken {
		return "", nil
	}
	if tok == "" || strings.HasPrefix(tok, hashedPrefix) {
		return "", fmt.Errorf("%q: %w", tok, ErrToken)
	}
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-':
			b.WriteByte(c)
		case c == '_' && i+2 < len(tok) && upperHex(tok[i+1]) && upperHex(tok[i+2]):
			v, _ := strconv.ParseUint(tok[i+1:i+3], 16, 8)
			if plain(byte(v)) {
				return "", fmt.Errorf("%q: %w", tok, ErrToken) // Token keeps it as it is
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			return "", fmt.Errorf("%q: %w", tok, ErrToken)
		}
	}
	return b.String(), nil
}

func upperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

func plain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// Partition returns the partition of host, in [0, Partitions): a hash of
// its lower-cased name, so that the spellings of one host that differ in
// case (forwarded logs lower-case names) go to the same worker.
func Partition(host string) int {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(host)))
	return int(h.Sum32() % Partitions)
}

// Subject is the subject of host's events in tenant:
// spoor.<tenant>.events.<partition>.<host>, names as Tokens, the partition
// as two decimal digits.
func Subject(tenant, host string) string {
	return fmt.Sprintf("spoor.%s.events.%02d.%s", Token(tenant), Partition(host), Token(host))
}

// PartitionSubjects is the filter of partition p's subjects in tenant, a
// worker's consumer's.
func PartitionSubjects(tenant string, p int) string {
	return fmt.Sprintf("spoor.%s.events.%02d.*", Token(tenant), p)
}

// TenantSubjects is the filter of all of tenant's event subjects: its
// stream's.
func TenantSubjects(tenant string) string {
	return "spoor." + Token(tenant) + ".events.*.*"
}

// StreamName is the name of tenant's stream.
func StreamName(tenant string) string { return "SPOOR_" + Token(tenant) }

// ConsumerName is the name of the durable consumer of partition p (in its
// tenant's stream).
func ConsumerName(p int) string { return fmt.Sprintf("p%02d", p) }

// ParseSubject returns the tenant token, partition and host token of an
// event subject.
func ParseSubject(subject string) (tenant string, partition int, host string, err error) {
	parts := strings.Split(subject, ".")
	if len(parts) != 5 || parts[0] != "spoor" || parts[2] != "events" {
		return "", 0, "", fmt.Errorf("subject %q: not spoor.<tenant>.events.<partition>.<host>", subject)
	}
	p, err := strconv.Atoi(parts[3])
	if err != nil || p < 0 || p >= Partitions || len(parts[3]) != 2 {
		return "", 0, "", fmt.Errorf("subject %q: partition %q not in [00, %d)", subject, parts[3], Partitions)
	}
	return parts[1], p, parts[4], nil
}
