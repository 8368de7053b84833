package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// What `spoor fleet status` reads: the workers' membership keys, the
// collectors' keys and the partitions' leases in the tenant's bucket, and
// the partitions' consumers.

// DefaultLease is a worker's lease, and the life of every key of the
// tenant's bucket past its last renewal.
const DefaultLease = 15 * time.Second

const collectorKeyPrefix = "c."

// Bucket returns tenant's bucket, made (its keys living ttl past their
// last write) when missing.
func Bucket(ctx context.Context, js jetstream.JetStream, tenant string, ttl time.Duration) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, BucketName(tenant))
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: BucketName(tenant), TTL: ttl, Storage: jetstream.FileStorage,
			Description: "spoor fleet workers and partition leases",
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, BucketName(tenant))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", BucketName(tenant), err)
	}
	return kv, nil
}

// CollectorInfo is what a collector says of itself in its key.
type CollectorInfo struct {
	Name    string    `json:"name"`
	Seen    time.Time `json:"seen"`
	Events  int64     `json:"events"`
	Batches int64     `json:"batches"`
	Inputs  int64     `json:"inputs"`
	Dropped int64     `json:"dropped"`
	Retries int64     `json:"retries"`
	// Rate is the events shipped per second since its previous report.
	Rate float64 `json:"rate"`
	// Bookmark is the bookmark it moved last.
	Bookmark *Bookmark `json:"bookmark,omitempty"`
	// Spooled and SpoolBytes are the batches, and their bytes, that wait
	// in its spool for the server; Blocked says its spool is full and it
	// stopped reading.
	Spooled    int64 `json:"spooled,omitempty"`
	SpoolBytes int64 `json:"spool_bytes,omitempty"`
	Blocked    bool  `json:"blocked,omitempty"`
}

// Report keeps c in kv (a collector's heartbeat).
func Report(ctx context.Context, kv jetstream.KeyValue, c CollectorInfo) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = kv.Put(ctx, collectorKeyPrefix+Token(c.Name), b)
	return err
}

// PartitionStatus is one partition's lease and consumer.
type PartitionStatus struct {
	Partition int    `json:"partition"`
	Owner     string `json:"owner"` // "" when no worker holds it
	// Pending is how many messages wait to be delivered; AckPending how
	// many were delivered and are not acknowledged yet.
	Pending    uint64 `json:"pending"`
	AckPending int    `json:"ack_pending"`
	// Delivered is the stream sequence delivered last.
	Delivered uint64 `json:"delivered"`
}

// Status is a tenant's fleet as NATS tells it.
type Status struct {
	Tenant     string            `json:"tenant"`
	Stream     string            `json:"stream"`
	Messages   uint64            `json:"messages"`
	Bytes      uint64            `json:"bytes"`
	Workers    []WorkerInfo      `json:"workers"`
	Collectors []CollectorInfo   `json:"collectors"`
	Partitions []PartitionStatus `json:"partitions"`
}

// ReadStatus reads tenant's fleet: only the workers and collectors whose
// keys have not expired (alive within the bucket's TTL) are listed.
func ReadStatus(ctx context.Context, js jetstream.JetStream, tenant string) (*Status, error) {
	st := &Status{Tenant: tenant, Stream: StreamName(tenant), Workers: []WorkerInfo{}, Collectors: []CollectorInfo{}}
	stream, err := js.Stream(ctx, st.Stream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", st.Stream, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, err
	}
	st.Messages, st.Bytes = info.State.Msgs, info.State.Bytes
	owners := map[int]string{}
	if kv, err := js.KeyValue(ctx, BucketName(tenant)); err == nil {
		keys, err := kv.ListKeys(ctx)
		if err == nil {
			for k := range keys.Keys() {
				e, err := kv.Get(ctx, k)
				if err != nil {
					continue
				}
				switch {
				case strings.HasPrefix(k, workerKeyPrefix):
					var w WorkerInfo
					if json.Unmarshal(e.Value(), &w) == nil {
						st.Workers = append(st.Workers, w)
					}
				case strings.HasPrefix(k, collectorKeyPrefix):
					var c CollectorInfo
					if json.Unmarshal(e.Value(), &c) == nil {
						st.Collectors = append(st.Collectors, c)
					}
				case strings.HasPrefix(k, leaseKeyPrefix):
					var p int
					if _, err := fmt.Sscanf(strings.TrimPrefix(k, leaseKeyPrefix), "%d", &p); err == nil {
						owners[p] = string(e.Value())
					}
				}
			}
		}
	}
	slices.SortFunc(st.Workers, func(a, b WorkerInfo) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(st.Collectors, func(a, b CollectorInfo) int { return strings.Compare(a.Name, b.Name) })
	for p := range Partitions {
		ps := PartitionStatus{Partition: p, Owner: owners[p]}
		if c, err := js.Consumer(ctx, st.Stream, ConsumerName(p)); err == nil {
			if ci, err := c.Info(ctx); err == nil {
				ps.Pending, ps.AckPending, ps.Delivered = ci.NumPending, ci.NumAckPending, ci.Delivered.Stream
			}
		}
		st.Partitions = append(st.Partitions, ps)
	}
	return st, nil
}
