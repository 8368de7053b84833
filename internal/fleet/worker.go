package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/spoor-hunt/spoor/internal/correlate"
	"github.com/spoor-hunt/spoor/internal/gaps"
	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/intake"
	"github.com/spoor-hunt/spoor/internal/operation"
	"github.com/spoor-hunt/spoor/internal/result"
	"github.com/spoor-hunt/spoor/internal/store"
)

// The worker (spoor worker): it owns some of a tenant's partitions, each
// through a lease in a NATS key-value bucket, and consumes each owned
// partition's durable pull consumer on a goroutine of its own, so that
// all the events of one host are hunted by one worker at a time, in the
// order they were published.
//
//	fetch (at most 256 messages, 2 MiB) → Decode → Hunter.Hunt per event (detections, entity shard, correlation inputs)
//	   … until FlushEvents events, FlushEvery, or a fetch brings nothing → store.Ingest (one transaction)
//	   → Ack every message of it → the cases it touched are rebuilt a moment later, each by the one worker
//	   holding its rebuild lease: correlations over the case's inputs, then intake.Rebuild
//
// A message is acknowledged only once the transaction holding what it
// gave has committed; a worker killed before that leaves its messages to
// be delivered again (after AckWait) to whoever owns the partition then,
// and what it had committed is not stored twice (store.FleetDetection's
// key). Leases: every worker renews its membership key and those of its
// partitions every Lease/3; each partition belongs to the live worker
// that ranks highest for it (rendezvous hashing), so a worker that joins
// takes its share and one that leaves or dies (its keys expire) gives
// its partitions to the others.

// WorkerOptions configure RunWorker.
type WorkerOptions struct {
	// ID names the worker; unique among the live workers of a tenant.
	ID string
	// Tenant is whose stream the worker consumes.
	Tenant string
	// Store is where detections go.
	Store *store.Store
	// Rules hunt the events.
	Rules *hunt.Rules
	// Hunt configures the operations built (Attack, NoAttribution,
	// CrownJewels, Logger: as for intake.Rebuild).
	Hunt hunt.Options
	// Lease is how long a lease outlives its last renewal; 0 means 15 s.
	Lease time.Duration
	// FlushEvents and FlushEvery: a commit is made after this many
	// events, or this long after the first uncommitted one, or when the
	// partition has nothing more; 0 means 20,000 and 1 s.
	FlushEvents int
	FlushEvery  time.Duration
	// RebuildAfter is how long a case waits, from the first commit its
	// operations do not show yet, before they are rebuilt (at most twice
	// that), and how often the rebuilder looks; 0 means 1 s.
	RebuildAfter time.Duration
	// AckWait is how long a message fetched and not acknowledged waits
	// before it is delivered again; 0 means 30 s.
	AckWait time.Duration
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
	// Stats, when not nil, is updated as the worker goes.
	Stats *WorkerStats
	// Replicas is how many servers of a cluster keep the tenant's stream
	// and bucket; 0 keeps what they have (1 when made).
	Replicas int
}

// WorkerStats count what a worker did; read at any time.
type WorkerStats struct {
	Events, Messages, Detections, Commits, BadMessages, StoreErrors, Rebuilds, Oversize atomic.Int64
	// StoreNanos is the time spent in store commits.
	StoreNanos atomic.Int64
	// Owned is the set of partitions owned, a bit each.
	Owned atomic.Uint64
	// Lag is, per partition, the messages not yet delivered when it was
	// last fetched from.
	Lag [Partitions]atomic.Int64
	// LastCommit is the time (Unix nanoseconds) of the last commit.
	LastCommit atomic.Int64
	// Dirty is how many cases wait for their operations to be rebuilt.
	Dirty atomic.Int64
	// ObserveStore, when not nil, is given the seconds each commit took
	// (its retries included); set it before the worker starts.
	ObserveStore func(seconds float64)
	// ObserveLatency, when not nil, is given for each message the
	// seconds from its storing in the stream (its publication) to the
	// commit of what it gave; set it before the worker starts.
	ObserveLatency func(seconds float64)
	// ObserveRebuildLag, when not nil, is given for each case made up to
	// date the seconds from the first commit it waited for to the end of
	// the rebuild that saw it (this worker's or the lease holder's); set
	// it before the worker starts.
	ObserveRebuildLag func(seconds float64)
}

// BucketName is the key-value bucket of tenant's workers and leases.
func BucketName(tenant string) string { return "spoor-fleet-" + Token(tenant) }

const (
	workerKeyPrefix = "w."
	leaseKeyPrefix  = "p."
)

func leaseKey(p int) string { return fmt.Sprintf("%s%02d", leaseKeyPrefix, p) }

// WorkerInfo is what a worker says of itself in its membership key.
type WorkerInfo struct {
	ID         string    `json:"id"`
	Partitions []int     `json:"partitions"`
	Events     int64     `json:"events"`
	Detections int64     `json:"detections"`
	Lag        int64     `json:"lag"`
	Seen       time.Time `json:"seen"`
}

// RunWorker runs a worker until ctx is done; it then commits what it
// holds, gives its leases back and returns ctx's error.
func RunWorker(ctx context.Context, js jetstream.JetStream, opts WorkerOptions) error {
	if opts.ID == "" || opts.Tenant == "" || opts.Store == nil || opts.Rules == nil {
		return errors.New("worker: id, tenant, store and rules are required")
	}
	if opts.Lease <= 0 {
		opts.Lease = 15 * time.Second
	}
	if opts.FlushEvents <= 0 {
		opts.FlushEvents = 20000
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = time.Second
	}
	if opts.RebuildAfter <= 0 {
		opts.RebuildAfter = time.Second
	}
	if opts.AckWait <= 0 {
		opts.AckWait = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Stats == nil {
		opts.Stats = new(WorkerStats)
	}
	w := &worker{js: js, opts: opts, owned: map[int]*owned{}, touched: map[string]time.Time{}, held: map[string]*heldCase{}, cases: map[string]bool{}}
	if err := w.setup(ctx); err != nil {
		return err
	}
	rctx, stopRebuild := context.WithCancel(context.WithoutCancel(ctx))
	var rebuilding sync.WaitGroup
	rebuilding.Go(func() { w.rebuilder(rctx) })
	bctx, stopBeat := context.WithCancel(ctx)
	defer stopBeat()
	go w.beat(bctx)
	tick := time.NewTicker(opts.Lease / 3)
	defer tick.Stop()
	for {
		w.balance(ctx)
		select {
		case <-ctx.Done():
			stopBeat()
			w.stopAll()
			stopRebuild()
			rebuilding.Wait()
			w.releaseCases()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

type worker struct {
	js    jetstream.JetStream
	kv    jetstream.KeyValue
	opts  WorkerOptions
	owned map[int]*owned
	// touched holds the cases commits changed since the rebuilder last
	// looked, each with the time of the first.
	touchMu sync.Mutex
	touched map[string]time.Time
	// held are the cases whose rebuild lease the worker holds.
	leaseMu sync.Mutex
	held    map[string]*heldCase
	casesMu sync.Mutex
	cases   map[string]bool // known to exist
}

// owned is a partition the worker holds.
type owned struct {
	rev    uint64 // of its lease
	cancel context.CancelFunc
	done   chan struct{}
}

// setup makes the stream, the partitions' consumers and the bucket,
// trying again for a minute while JetStream does not answer (a cluster
// starting).
func (w *worker) setup(ctx context.Context) error {
	return unanswered(ctx, w.setupOnce)
}

func (w *worker) setupOnce(ctx context.Context) error {
	if _, err := EnsureStream(ctx, w.js, w.opts.Tenant, StreamOptions{Replicas: w.opts.Replicas}); err != nil {
		return err
	}
	if err := EnsureConsumers(ctx, w.js, w.opts.Tenant, w.opts.AckWait); err != nil {
		return err
	}
	kv, err := EnsureBucket(ctx, w.js, w.opts.Tenant, w.opts.Lease, w.opts.Replicas)
	if err != nil {
		return err
	}
	w.kv = kv
	return nil
}

// EnsureConsumers makes (or updates) the durable pull consumer of each
// of tenant's partitions; a message delivered and not acknowledged within
// ackWait is delivered again.
func EnsureConsumers(ctx context.Context, js jetstream.JetStream, tenant string, ackWait time.Duration) error {
	for p := range Partitions {
		_, err := js.CreateOrUpdateConsumer(ctx, StreamName(tenant), jetstream.ConsumerConfig{
			Durable:       ConsumerName(p),
			FilterSubject: PartitionSubjects(tenant, p),
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       ackWait,
			MaxAckPending: 4096,
			MaxDeliver:    -1,
			DeliverPolicy: jetstream.DeliverAllPolicy,
		})
		if err != nil {
			return fmt.Errorf("consumer %s: %w", ConsumerName(p), err)
		}
	}
	return nil
}

// rank is worker id's weight for partition p: the partition goes to the
// live worker of the highest.
func rank(id string, p int) uint64 {
	sum := sha256.Sum256([]byte(id + "\x00" + strconv.Itoa(p)))
	return binary.BigEndian.Uint64(sum[:8])
}

// balance renews the worker's membership and leases, gives back the
// partitions another live worker ranks higher for, and takes those it
// ranks highest for that are free.
func (w *worker) balance(ctx context.Context) {
	me := Token(w.opts.ID)
	if !w.member(ctx) {
		return
	}
	live := []string{me}
	keys, err := w.kv.ListKeysFiltered(ctx, workerKeyPrefix+">")
	if err == nil {
		for k := range keys.Keys() {
			if id := strings.TrimPrefix(k, workerKeyPrefix); id != me {
				live = append(live, id)
			}
		}
	}
	for p := range Partitions {
		best := ""
		for _, id := range live {
			if best == "" || rank(id, p) > rank(best, p) || rank(id, p) == rank(best, p) && id < best {
				best = id
			}
		}
		o := w.owned[p]
		switch {
		case o != nil && best != me:
			w.release(p, o)
		case o != nil:
			rev, err := w.kv.Update(ctx, leaseKey(p), []byte(w.opts.ID), o.rev)
			if err != nil && ctx.Err() == nil {
				rev, err = w.reclaim(ctx, leaseKey(p), w.isMine, []byte(w.opts.ID))
			}
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				// Lost (expired, and maybe taken), or not known to be
				// held: stop at once; what it commits meanwhile is stored
				// once anyway.
				w.opts.Logger.Warn("partition lease lost", "partition", p, "err", err)
				o.cancel()
				<-o.done
				delete(w.owned, p)
				w.opts.Stats.Owned.And(^(uint64(1) << p))
				continue
			}
			o.rev = rev
		case best == me:
			rev, err := w.kv.Create(ctx, leaseKey(p), []byte(w.opts.ID))
			if errors.Is(err, jetstream.ErrKeyExists) {
				// This worker's already when a create's answer was lost
				// (or before a restart).
				rev, err = w.reclaim(ctx, leaseKey(p), w.isMine, []byte(w.opts.ID))
			}
			if err != nil {
				continue // held by its previous owner until it gives it back or it expires
			}
			pctx, cancel := context.WithCancel(ctx)
			o := &owned{rev: rev, cancel: cancel, done: make(chan struct{})}
			w.owned[p] = o
			w.opts.Stats.Owned.Or(uint64(1) << p)
			go func() {
				defer close(o.done)
				w.consume(pctx, p)
			}()
		}
	}
}

// member renews the worker's membership key, saying what it does; false
// when the bucket cannot be reached.
func (w *worker) member(ctx context.Context) bool {
	st := w.opts.Stats
	info := WorkerInfo{ID: w.opts.ID, Events: st.Events.Load(), Detections: st.Detections.Load(), Seen: time.Now().UTC()}
	owned := st.Owned.Load()
	for p := range Partitions {
		if owned&(1<<p) != 0 {
			info.Partitions = append(info.Partitions, p)
			info.Lag += st.Lag[p].Load()
		}
	}
	body, _ := json.Marshal(info)
	if _, err := w.kv.Put(ctx, workerKeyPrefix+Token(w.opts.ID), body); err != nil {
		if ctx.Err() == nil {
			w.opts.Logger.Warn("worker membership not renewed", "err", err)
		}
		return false
	}
	return true
}

// beat renews the membership every Lease/3 on its own, so that a balance
// waiting for a partition to commit and stop does not let it expire.
func (w *worker) beat(ctx context.Context) {
	t := time.NewTicker(w.opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.member(ctx)
			w.renewCases(ctx)
		}
	}
}

// release stops consuming p (what it holds is committed) and gives its
// lease back.
func (w *worker) release(p int, o *owned) {
	o.cancel()
	<-o.done
	delete(w.owned, p)
	w.opts.Stats.Owned.And(^(uint64(1) << p))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.kv.Delete(ctx, leaseKey(p), jetstream.LastRevision(o.rev)); err != nil {
		w.opts.Logger.Warn("partition lease not given back (it will expire)", "partition", p, "err", err)
	}
}

func (w *worker) stopAll() {
	for p, o := range w.owned {
		w.release(p, o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.kv.Delete(ctx, workerKeyPrefix+Token(w.opts.ID))
}

// consume hunts partition p's messages until ctx is done, then commits
// what it holds.
func (w *worker) consume(ctx context.Context, p int) {
	log := w.opts.Logger.With("partition", p)
	// The consumer is looked up until it answers: a cluster electing its
	// leader (a node lost) does not, for a while, and a goroutine that
	// gave up would leave the partition leased and unread for as long as
	// the worker lives.
	var cons jetstream.Consumer
	for wait := 250 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		var err error
		if cons, err = w.js.Consumer(ctx, StreamName(w.opts.Tenant), ConsumerName(p)); err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("consumer not found: retrying", "err", err)
		sleep(ctx, wait)
	}
	pend := &pending{w: w, cases: map[string]*caseBatch{}}
	pend.hunter = w.opts.Rules.NewHunter(pend)
	defer func() {
		// Given back or stopping: what was hunted is committed, so that
		// the next owner does not wait for its redelivery.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		pend.commit(cctx)
	}()
	wait := 250 * time.Millisecond
	for ctx.Err() == nil {
		// A message count as well as the byte bound: FetchBytes alone
		// sizes the batch's channel for a million messages (16 MB
		// allocated, and cleared, by every fetch, an empty one included).
		batch, err := cons.Fetch(fetchMessages, jetstream.FetchMaxBytes(fetchBytes), jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("fetch failed: retrying", "err", err)
			sleep(ctx, wait)
			wait = min(2*wait, 5*time.Second)
			continue
		}
		wait = 250 * time.Millisecond
		n := 0
		for msg := range batch.Messages() {
			n++
			pend.add(msg)
			if md, err := msg.Metadata(); err == nil {
				w.opts.Stats.Lag[p].Store(int64(md.NumPending))
			}
		}
		if n == 0 {
			w.opts.Stats.Lag[p].Store(0)
		}
		if pend.events >= w.opts.FlushEvents || pend.msgs != nil && (n == 0 || time.Since(pend.first) >= w.opts.FlushEvery) {
			if !pend.commit(ctx) {
				return
			}
		}
	}
}

// A fetch takes at most fetchMessages messages and fetchBytes bytes (a
// collector's batch is a window of 1,000 events, tens of kilobytes
// compressed).
const (
	fetchMessages = 256
	fetchBytes    = 2 << 20
)

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// pending is what a partition hunted and has not committed yet. It is the
// partition's Hunter's sink.
type pending struct {
	w      *worker
	dec    *Decoder
	hunter *hunt.Hunter
	msgs   []jetstream.Msg
	events int
	first  time.Time
	cases  map[string]*caseBatch
	cur    *caseBatch // of the event being hunted
	facts  gapEncoder // what the tampering findings need of the message's events
	err    error
}

// caseBatch is what the pending messages give one case.
type caseBatch struct {
	name   string
	index  *operation.Index
	events int
	batch  store.FleetBatch
}

// add hunts the events of msg.
func (pd *pending) add(msg jetstream.Msg) {
	w := pd.w
	w.opts.Stats.Messages.Add(1)
	if pd.dec == nil {
		pd.dec = NewDecoder(Limits{})
	}
	b, err := pd.dec.Decode(msg.Data())
	if err == nil && Token(b.Tenant) != Token(w.opts.Tenant) {
		err = fmt.Errorf("%w: a batch of tenant %q in tenant %q's stream", ErrBatch, b.Tenant, w.opts.Tenant)
	}
	if err != nil {
		// Never delivered again: no retry makes it readable.
		w.opts.Stats.BadMessages.Add(1)
		w.opts.Logger.Warn("message refused", "subject", msg.Subject(), "err", err)
		msg.Term()
		return
	}
	if b.Case == "" {
		b.Case = "fleet"
	}
	cb := pd.cases[b.Case]
	if cb == nil {
		name := strings.Clone(b.Case) // the batch's memory is the decoder's
		cb = &caseBatch{name: name, index: operation.NewIndex(1), batch: store.FleetBatch{Case: name}}
		pd.cases[name] = cb
	}
	pd.cur = cb
	shard := cb.index.Shard(0)
	for i := range b.Records {
		r := &b.Records[i]
		fact := gaps.FactOf(&r.Event)
		pd.facts.add(r.Ordinal, &fact)
		if err := pd.hunter.Hunt(&r.Event, shard); err != nil {
			pd.err = err
		}
	}
	if len(b.Records) > 0 {
		if g, ok := pd.facts.gap(strings.Clone(b.Input.ID), msgPass(msg), b.Records[0].Ordinal); ok {
			cb.batch.Gaps = append(cb.batch.Gaps, g)
		}
		pd.facts.reset()
	}
	inputs, dets := pd.hunter.Inputs()
	for i := range inputs {
		pd.input(cb, &inputs[i], &dets[i])
	}
	cb.events += len(b.Records)
	pd.events += len(b.Records)
	w.opts.Stats.Events.Add(int64(len(b.Records)))
	if pd.msgs == nil {
		pd.first = time.Now()
	}
	pd.msgs = append(pd.msgs, msg)
}

// Detection implements hunt.Sink.
func (pd *pending) Detection(d *result.Detection, ref *operation.DetectionRef) error {
	det, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if len(det) > store.MaxDetectionSize {
		pd.w.opts.Stats.Oversize.Add(1)
		return nil
	}
	var r []byte
	if ref != nil {
		if r, err = json.Marshal(ref); err != nil {
			return err
		}
	}
	pd.cur.batch.Detections = append(pd.cur.batch.Detections, store.FleetDetection{Key: DetectionKey(d), JSON: det, Ref: r})
	return nil
}

// Entities implements hunt.Sink; a Hunter never calls it.
func (pd *pending) Entities(*operation.Index) error { return nil }

func (pd *pending) input(cb *caseBatch, in *correlate.Input, d *result.Detection) {
	ib, err := json.Marshal(in)
	if err != nil {
		return
	}
	db, err := json.Marshal(d)
	if err != nil || len(db) > store.MaxDetectionSize {
		return
	}
	cb.batch.Inputs = append(cb.batch.Inputs, store.FleetInput{Key: DetectionKey(d), Input: ib, Detection: db})
}

// DetectionKey identifies a detection of an event within its case:
// host, log (source), place in it, record number, time, rule and kind. A
// batch hunted twice gives the same keys.
func DetectionKey(d *result.Detection) string {
	h := sha256.New()
	var n [8]byte
	for _, s := range []string{strings.ToLower(d.Computer), d.Source, d.Rule.ID, d.Rule.Title, string(d.Kind)} {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	for _, v := range []int64{d.Locator, d.RecordID, d.Time.UnixNano()} {
		binary.LittleEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	if d.Carved {
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// commit stores what is pending, retrying while the store fails, then
// acknowledges its messages. It returns false when ctx ended it first
// (nothing acknowledged: the messages come again).
func (pd *pending) commit(ctx context.Context) bool {
	if pd.msgs == nil {
		return true
	}
	w := pd.w
	var batches []store.FleetBatch
	for _, cb := range pd.cases {
		if cb.events > 0 {
			enc, err := cb.index.AppendBinary(nil)
			if err == nil {
				cb.batch.Entities = enc
			}
		}
		batches = append(batches, cb.batch)
	}
	wait := 250 * time.Millisecond
	var commits []store.FleetCommit
	began := time.Now()
	for attempt := 0; ; attempt++ {
		start := time.Now()
		err := pd.ensureCases(ctx)
		if err == nil {
			commits, err = w.opts.Store.Ingest(ctx, w.opts.Tenant, w.opts.ID, batches)
		}
		w.opts.Stats.StoreNanos.Add(int64(time.Since(start)))
		if err == nil {
			if attempt > 0 {
				w.opts.Logger.Info("store back: committed", "attempts", attempt+1)
			}
			break
		}
		w.opts.Stats.StoreErrors.Add(1)
		if ctx.Err() != nil {
			return false
		}
		if attempt == 0 {
			w.opts.Logger.Warn("store commit failed: retrying until it succeeds", "err", err, "messages", len(pd.msgs))
		}
		if errors.Is(err, store.ErrNotFound) {
			pd.forgetCases() // deleted meanwhile, or made by a commit that failed
		}
		for _, m := range pd.msgs {
			m.InProgress() // not delivered again meanwhile
		}
		sleep(ctx, wait)
		wait = min(2*wait, 5*time.Second)
	}
	if w.opts.Stats.ObserveStore != nil {
		w.opts.Stats.ObserveStore(time.Since(began).Seconds())
	}
	now := time.Now()
	for _, m := range pd.msgs {
		m.Ack()
		if w.opts.Stats.ObserveLatency != nil {
			if md, err := m.Metadata(); err == nil {
				w.opts.Stats.ObserveLatency(now.Sub(md.Timestamp).Seconds())
			}
		}
	}
	w.opts.Stats.Commits.Add(1)
	w.opts.Stats.LastCommit.Store(now.UnixNano())
	for i, b := range batches {
		w.opts.Stats.Detections.Add(int64(commits[i].Added))
		w.touch(b.Case, now)
	}
	pd.msgs, pd.events = nil, 0
	clear(pd.cases)
	return true
}

// ensureCases makes the pending cases the worker has not seen yet.
func (pd *pending) ensureCases(ctx context.Context) error {
	w := pd.w
	for name := range pd.cases {
		w.casesMu.Lock()
		known := w.cases[name]
		w.casesMu.Unlock()
		if known {
			continue
		}
		if _, _, err := intake.EnsureCase(ctx, w.opts.Store, w.opts.Tenant, name, "fleet:"+w.opts.ID); err != nil {
			return fmt.Errorf("case %q: %w", name, err)
		}
		w.casesMu.Lock()
		w.cases[name] = true
		w.casesMu.Unlock()
	}
	return nil
}

// forgetCases makes the next commit check the pending cases again.
func (pd *pending) forgetCases() {
	pd.w.casesMu.Lock()
	for name := range pd.cases {
		delete(pd.w.cases, name)
	}
	pd.w.casesMu.Unlock()
}

// One rebuilder per case. The worker whose rebuilder first finds a case's
// rebuild lease free takes it (a key of the tenant's bucket, renewed with
// the worker's membership, given back when it stops) and from then on
// rebuilds the case whenever its mark (store.CaseMark) moved, whoever
// committed. Another worker that committed to the case only waits, the
// case counted dirty, until the lease's value (the mark its holder's last
// rebuild saw whole) reaches the mark it read after its commit; when the
// holder dies its lease expires and the next to look takes it. So a case
// is rebuilt by one worker at a time whatever the number of workers
// writing to it.

// caseKeyPrefix starts the keys of cases' rebuild leases ("c." are
// collectors', status.go).
const caseKeyPrefix = "r."

func caseKey(name string) string { return caseKeyPrefix + Token(name) }

// caseLease is the value of a case's rebuild lease.
type caseLease struct {
	Worker string `json:"worker"`
	// Mark is the case's mark (store.CaseMark) the holder's last rebuild
	// saw whole; -1 before its first.
	Mark int64 `json:"mark"`
}

// heldCase is a case whose rebuild lease the worker holds.
type heldCase struct {
	rev  uint64
	mark int64 // as caseLease.Mark
}

// backlogRebuildEvery spaces the rebuilds of a worker while its
// partitions have a backlog: each rebuild reads the whole case, so
// rebuilding at every commit while a backlog drains would cost more than
// hunting it; the operations catch up once it is drained.
const backlogRebuildEvery = 30 * time.Second

// touch tells the rebuilder that a commit at the time at changed the
// case.
func (w *worker) touch(name string, at time.Time) {
	w.touchMu.Lock()
	defer w.touchMu.Unlock()
	if _, ok := w.touched[name]; !ok {
		w.touched[name] = at
		w.opts.Stats.Dirty.Add(1) // at most one too many until the rebuilder looks
	}
}

// rebuilder brings the operations of the cases commits touched up to
// date: a case waits RebuildAfter from the first commit not yet rebuilt,
// rebuilds are spaced by twice the time the last took (so that rebuilding
// takes at most a third of a core whatever the case's size), and by
// backlogRebuildEvery while the worker's partitions have a backlog.
func (w *worker) rebuilder(ctx context.Context) {
	dirty := map[string]time.Time{} // case → first commit not rebuilt
	tick := time.NewTicker(w.opts.RebuildAfter)
	defer tick.Stop()
	var took time.Duration
	lastRebuild := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		w.touchMu.Lock()
		for c, at := range w.touched {
			if _, ok := dirty[c]; !ok {
				dirty[c] = at
			}
		}
		clear(w.touched)
		w.opts.Stats.Dirty.Store(int64(len(dirty)))
		w.touchMu.Unlock()
		w.pollHeld(ctx, dirty, now)
		if len(dirty) == 0 || now.Sub(lastRebuild) < 2*took || w.backlog() && now.Sub(lastRebuild) < backlogRebuildEvery {
			w.setDirty(dirty)
			continue
		}
		began, rebuilt := time.Now(), false
		for c, since := range dirty {
			if now.Sub(since) < w.opts.RebuildAfter {
				continue
			}
			r, done, err := w.settle(ctx, c)
			if err != nil {
				if ctx.Err() == nil {
					w.opts.Logger.Warn("operations not rebuilt", "case", c, "err", err)
				}
				continue // tried again at the next tick
			}
			rebuilt = rebuilt || r
			if done {
				delete(dirty, c)
				if w.opts.Stats.ObserveRebuildLag != nil {
					w.opts.Stats.ObserveRebuildLag(time.Since(since).Seconds())
				}
			}
		}
		if rebuilt {
			took, lastRebuild = time.Since(began), time.Now()
		}
		w.setDirty(dirty)
	}
}

// setDirty counts the cases waiting: the rebuilder's and those touched
// since it last looked.
func (w *worker) setDirty(dirty map[string]time.Time) {
	w.touchMu.Lock()
	defer w.touchMu.Unlock()
	n := len(dirty)
	for c := range w.touched {
		if _, ok := dirty[c]; !ok {
			n++
		}
	}
	w.opts.Stats.Dirty.Store(int64(n))
}

// backlog reports whether a partition the worker holds had messages
// waiting when last fetched from.
func (w *worker) backlog() bool {
	owned := w.opts.Stats.Owned.Load()
	for p := range Partitions {
		if owned&(1<<p) != 0 && w.opts.Stats.Lag[p].Load() > 0 {
			return true
		}
	}
	return false
}

// pollHeld marks dirty the cases whose rebuild lease the worker holds and
// whose mark moved since their last rebuild (another worker's commits).
func (w *worker) pollHeld(ctx context.Context, dirty map[string]time.Time, now time.Time) {
	w.leaseMu.Lock()
	marks := make(map[string]int64, len(w.held))
	for c, h := range w.held {
		if _, ok := dirty[c]; !ok {
			marks[c] = h.mark
		}
	}
	w.leaseMu.Unlock()
	for c, rebuilt := range marks {
		if m, err := w.opts.Store.CaseMark(ctx, w.opts.Tenant, c); err == nil && m != rebuilt {
			dirty[c] = now
		}
	}
}

// settle rebuilds the case when the worker holds (or can take) its
// rebuild lease and it changed since its last rebuild; otherwise it
// reports done once the holder's last rebuild saw everything committed
// when settle began.
func (w *worker) settle(ctx context.Context, name string) (rebuilt, done bool, err error) {
	mark, err := w.opts.Store.CaseMark(ctx, w.opts.Tenant, name)
	if err != nil {
		return false, false, err
	}
	h, other, err := w.caseLease(ctx, name)
	if err != nil {
		return false, false, err
	}
	if h == nil {
		return false, other.Mark >= mark, nil
	}
	if h.mark == mark {
		return false, true, nil
	}
	m, err := w.RebuildCase(ctx, name)
	if err != nil {
		return true, false, err
	}
	w.leaseMu.Lock()
	defer w.leaseMu.Unlock()
	if w.held[name] != h {
		return true, false, nil // lost meanwhile: the next holder's rebuild is waited for
	}
	h.mark = m
	w.renewCase(ctx, name, h)
	// Lost now, the mark is not the lease's: the case is settled again.
	return true, w.held[name] == h, nil
}

// caseLease returns the worker's hold of the case's rebuild lease, taking
// it when free; nil and the holder's lease when another worker holds it.
func (w *worker) caseLease(ctx context.Context, name string) (*heldCase, caseLease, error) {
	w.leaseMu.Lock()
	defer w.leaseMu.Unlock()
	if h := w.held[name]; h != nil {
		return h, caseLease{}, nil
	}
	body, _ := json.Marshal(caseLease{Worker: w.opts.ID, Mark: -1})
	rev, err := w.kv.Create(ctx, caseKey(name), body)
	if err == nil {
		h := &heldCase{rev: rev, mark: -1}
		w.held[name] = h
		return h, caseLease{}, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, caseLease{}, fmt.Errorf("rebuild lease: %w", err)
	}
	e, err := w.kv.Get(ctx, caseKey(name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, caseLease{Mark: -1}, nil // expired meanwhile: taken at the next try
	}
	if err != nil {
		return nil, caseLease{}, fmt.Errorf("rebuild lease: %w", err)
	}
	var l caseLease
	if json.Unmarshal(e.Value(), &l) != nil {
		l = caseLease{Mark: -1}
	}
	if l.Worker == w.opts.ID {
		// This worker's before a restart: its rebuilds are to be made
		// again.
		h := &heldCase{rev: e.Revision(), mark: -1}
		w.held[name] = h
		return h, caseLease{}, nil
	}
	return nil, l, nil
}

// RebuiltMark returns the case mark (store.CaseMark) that the last
// rebuild of the case's operations saw whole, as its rebuild lease says;
// false when no worker holds the lease or none has rebuilt the case since
// taking it. Operations are up to date when it equals the case's mark.
func RebuiltMark(ctx context.Context, js jetstream.JetStream, tenant, caseName string) (int64, bool, error) {
	kv, err := js.KeyValue(ctx, BucketName(tenant))
	if err != nil {
		return 0, false, err
	}
	e, err := kv.Get(ctx, caseKey(caseName))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	var l caseLease
	if err := json.Unmarshal(e.Value(), &l); err != nil || l.Mark < 0 {
		return 0, false, nil
	}
	return l.Mark, true, nil
}

// renewCase renews the rebuild lease of a case held, saying its mark; one
// whose key says another worker's is let go. One not renewed for want of
// an answer (a cluster electing its bucket's leader) is kept, for the
// next beat: let go, its key expired unrenewed, and with it the mark of
// the case's last rebuild (RebuiltMark), which no one wrote again until
// the case changed. The caller holds leaseMu.
func (w *worker) renewCase(ctx context.Context, name string, h *heldCase) {
	body, _ := json.Marshal(caseLease{Worker: w.opts.ID, Mark: h.mark})
	rev, err := w.kv.Update(ctx, caseKey(name), body, h.rev)
	if err != nil && ctx.Err() == nil {
		rev, err = w.reclaim(ctx, caseKey(name), func(v []byte) bool {
			var l caseLease
			return json.Unmarshal(v, &l) == nil && l.Worker == w.opts.ID
		}, body)
	}
	switch {
	case err == nil:
		h.rev = rev
	case ctx.Err() != nil:
	case errors.Is(err, jetstream.ErrKeyExists):
		w.opts.Logger.Warn("case rebuild lease lost", "case", name, "err", err)
		delete(w.held, name)
	default:
		w.opts.Logger.Warn("case rebuild lease not renewed: again at the next beat", "case", name, "err", err)
	}
}

// reclaim writes body to a lease key of the bucket whose write failed
// (no answer, or the revision moved): when the key's value is still this
// worker's (an update made with its answer lost, or a lease of this
// worker's before a restart) it is written at the key's revision; when
// it expired it is made again; another worker's is refused with
// jetstream.ErrKeyExists. An error says the lease is not known to be held.
func (w *worker) reclaim(ctx context.Context, key string, mine func([]byte) bool, body []byte) (uint64, error) {
	e, err := w.kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return w.kv.Create(ctx, key, body)
	case err != nil:
		return 0, err
	case !mine(e.Value()):
		return 0, fmt.Errorf("%w: %s is another worker's", jetstream.ErrKeyExists, key)
	}
	return w.kv.Update(ctx, key, body, e.Revision())
}

// isMine reports whether a partition lease's value names this worker.
func (w *worker) isMine(v []byte) bool { return string(v) == w.opts.ID }

// renewCases renews every rebuild lease the worker holds.
func (w *worker) renewCases(ctx context.Context) {
	w.leaseMu.Lock()
	defer w.leaseMu.Unlock()
	for name, h := range w.held {
		w.renewCase(ctx, name, h)
	}
}

// releaseCases gives back the rebuild leases the worker holds.
func (w *worker) releaseCases() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.leaseMu.Lock()
	defer w.leaseMu.Unlock()
	for name, h := range w.held {
		w.kv.Delete(ctx, caseKey(name), jetstream.LastRevision(h.rev))
		delete(w.held, name)
	}
}

// RebuildCase makes the case's correlation matches and operations those
// of everything stored, again until no commit came meanwhile, and returns
// the case's mark the last rebuild saw whole.
func (w *worker) RebuildCase(ctx context.Context, name string) (int64, error) {
	return Rebuild(ctx, w.opts.Store, w.opts.Tenant, name, "fleet:"+w.opts.ID, w.opts.Rules, w.opts.Hunt, func() { w.opts.Stats.Rebuilds.Add(1) })
}

// Rebuild makes the correlation matches of a case of tenant those of all
// its fleet correlation inputs (rules' correlations), and its tampering
// detections those of all its gap facts (tamperCase), then rebuilds its
// operations (intake.Rebuild), and does it again while commits came in
// meanwhile (store.CaseMark), so that the last rebuild saw everything; it
// returns the case's mark that rebuild saw. done, when not nil, is called
// after each rebuild.
func Rebuild(ctx context.Context, st *store.Store, tenant, caseName, actor string, rules *hunt.Rules, opts hunt.Options, done func()) (int64, error) {
	for {
		before, err := st.CaseMark(ctx, tenant, caseName)
		if err != nil {
			return 0, err
		}
		changed, err := correlateCase(ctx, st, tenant, caseName, actor, rules)
		if err != nil {
			return 0, err
		}
		tampered, err := tamperCase(ctx, st, tenant, caseName, actor, rules)
		if err != nil {
			return 0, err
		}
		changed = changed || tampered
		if _, err := intake.Rebuild(ctx, st, tenant, caseName, actor, opts); err != nil {
			return 0, err
		}
		if done != nil {
			done()
		}
		after, err := st.CaseMark(ctx, tenant, caseName)
		if err != nil {
			return 0, err
		}
		if after == before && !changed {
			return after, nil
		}
	}
}

// correlateCase runs the rules' correlations over the case's inputs and
// makes their matches the case's; it reports whether they changed.
func correlateCase(ctx context.Context, st *store.Store, tenant, caseName, actor string, rules *hunt.Rules) (bool, error) {
	if !rules.Correlated() {
		return false, nil
	}
	var inputs []correlate.Input
	var dets []result.Detection
	err := st.FleetInputs(ctx, tenant, caseName, func(in, det []byte) error {
		var i correlate.Input
		var d result.Detection
		if err := json.Unmarshal(in, &i); err != nil {
			return fmt.Errorf("correlation input: %w", err)
		}
		if err := json.Unmarshal(det, &d); err != nil {
			return fmt.Errorf("correlation input's detection: %w", err)
		}
		inputs, dets = append(inputs, i), append(dets, d)
		return nil
	})
	if err != nil {
		return false, err
	}
	var matches []store.FleetDetection
	err = rules.Correlate(ctx, inputs, dets, maxCounted, func(d *result.Detection, ref *operation.DetectionRef) error {
		det, err := json.Marshal(d)
		if err != nil {
			return err
		}
		r, err := json.Marshal(ref)
		if err != nil {
			return err
		}
		if len(det) > store.MaxDetectionSize {
			return nil
		}
		matches = append(matches, store.FleetDetection{Key: strconv.Itoa(len(matches)), JSON: det, Ref: r})
		return nil
	})
	if err != nil {
		return false, err
	}
	return st.ReplaceCorrelations(ctx, tenant, caseName, actor, matches)
}

// maxCounted bounds the detections a correlation match keeps, as
// intake's hunts do.
const maxCounted = 100
