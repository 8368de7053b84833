package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spoor-hunt/spoor/internal/fleet"
	"github.com/spoor-hunt/spoor/internal/fleettest"
	"github.com/spoor-hunt/spoor/internal/hunt"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/store"
	"github.com/spoor-hunt/spoor/internal/storetest"
)

// natsNode is one nats-server process of a test's cluster.
type natsNode struct {
	name, conf string
	port       int
	p          *process
}

// startCluster runs three nats-server processes in a JetStream cluster
// (routes on free ports), trusting the accounts of the configuration
// file accounts (spoor fleet credential server-config), and returns them.
func startCluster(t *testing.T, bin, accounts string) []*natsNode {
	t.Helper()
	dir := t.TempDir()
	nodes := make([]*natsNode, 3)
	routePorts := make([]int, 3)
	var routes []string
	for i := range nodes {
		nodes[i] = &natsNode{name: fmt.Sprintf("n%d", i+1), port: freePort(t)}
		routePorts[i] = freePort(t)
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", routePorts[i]))
	}
	// An include is relative to the configuration's folder.
	b, err := os.ReadFile(accounts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts.conf"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		n.conf = filepath.Join(dir, n.name+".conf")
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
jetstream { store_dir: %q }
cluster {
  name: spoor
  listen: 127.0.0.1:%d
  routes: [%s]
}
include accounts.conf
`, n.name, n.port, filepath.Join(dir, n.name), routePorts[i], strings.Join(routes, ", "))
		if err := os.WriteFile(n.conf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes {
		n.start(t, bin)
	}
	return nodes
}

func (n *natsNode) start(t *testing.T, bin string) {
	t.Helper()
	n.p = runProcess(t, "nats-server "+n.name, exec.Command(bin, "-c", n.conf))
	if !waitFor(30*time.Second, func() bool { return dialable(n.port) }) {
		t.Fatalf("nats-server %s did not listen within 30 s", n.name)
	}
}

func (n *natsNode) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// TestFleetCluster: the deployment of docs/DEPLOYMENT.md on one machine:
// three nats-server processes in a JetStream cluster trusting spoor's
// accounts (server-config), two worker processes with a worker
// credential making the stream and bucket three replicas, a collector
// process with a collector credential shipping evtx-attack-samples, and
// the node leading the stream killed (SIGKILL) mid-stream. Once drained,
// the case (PostgreSQL) holds exactly the offline hunt's detections.
func TestFleetCluster(t *testing.T) {
	bin := natsServerBin(t, "cluster test")
	evidence := shared.Path(t, "datasets", "evtx-attack-samples")
	ctx := context.Background()
	began := time.Now()
	plain, err := hunt.Run(ctx, []string{evidence}, hunt.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	storeURL := storetest.Postgres(t)
	st, err := store.Open(ctx, storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// Credentials, and the servers' configuration trusting them.
	data, keys := t.TempDir(), t.TempDir()
	workerCreds, collectorCreds := filepath.Join(keys, "worker.creds"), filepath.Join(keys, "collector.creds")
	accountsConf := filepath.Join(keys, "accounts.conf")
	for _, args := range [][]string{
		{"fleet", "credential", "add", "--data", data, "--role", "worker", "--out", workerCreds},
		{"fleet", "credential", "add", "--data", data, "--role", "collector", "--out", collectorCreds},
		{"fleet", "credential", "server-config", "--data", data, "--out", accountsConf},
	} {
		if code, _, stderr := run(t, ctx, args...); code != 0 {
			t.Fatalf("%v: exit %d, %s", args, code, stderr)
		}
	}
	nodes := startCluster(t, bin, accountsConf)
	urls := make([]string, len(nodes))
	for i, n := range nodes {
		urls[i] = n.url()
	}
	url := strings.Join(urls, ",")
	opts, err := fleet.ClientAuth{Creds: workerCreds}.Options()
	if err != nil {
		t.Fatal(err)
	}
	nc, js, err := fleet.Connect(url, "test", opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if !waitFor(time.Minute, func() bool {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := js.AccountInfo(c)
		return err == nil
	}) {
		t.Fatal("the cluster's JetStream was not ready within a minute")
	}
	t.Logf("cluster ready after %s", time.Since(began).Round(time.Second))

	env := []string{"SPOOR_CACHE_DIR=" + t.TempDir(), "SPOOR_DATA_DIR=" + t.TempDir()}
	worker := func(id string) *process {
		return start(t, "worker "+id, env, "worker", "--nats", url, "--nats-creds", workerCreds, "--store", storeURL,
			"--no-sigmahq", "--id", id, "--replicas", "3")
	}
	wa, wb := worker("a"), worker("b")
	if !waitFor(2*time.Minute, func() bool { return members(ctx, js) == 2 }) {
		t.Fatal("the two workers did not join within 2 minutes")
	}
	stream, err := js.Stream(ctx, fleet.StreamName(store.DefaultTenant))
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream: %d replicas, cluster %+v; want 3", info.Config.Replicas, info.Cluster)
	}
	if kv, err := js.Stream(ctx, "KV_"+fleet.BucketName(store.DefaultTenant)); err != nil || kv.CachedInfo().Config.Replicas != 3 {
		t.Fatalf("bucket: %v, want 3 replicas", err)
	}

	// The collector ships; once the stream holds a quarter of the
	// messages, the node leading it is killed.
	state := t.TempDir()
	col := start(t, "collector", env, "ship", evidence, "--nats", url, "--nats-creds", collectorCreds, "--case", "cluster",
		"--name", "c1", "--state", state, "--window", "50")
	// A quarter of the 396 batches of evtx-attack-samples (window 50).
	if !waitFor(2*time.Minute, func() bool {
		info, err = stream.Info(ctx)
		return err == nil && info.State.Msgs >= 100
	}) {
		t.Fatal("the stream never held 100 messages")
	}
	var killed *natsNode
	for _, n := range nodes {
		if n.name == info.Cluster.Leader {
			killed = n
		}
	}
	if killed == nil {
		t.Fatalf("no node leads the stream: %+v", info.Cluster)
	}
	killed.p.kill()
	killedAt, atMsgs := time.Since(began), info.State.Msgs
	select {
	case <-col.done:
		t.Fatal("the collector had finished before the node was killed: no fault mid-stream")
	default:
	}
	col.finished(t, 4*time.Minute)
	// About a minute in all here: a drain that takes five fails with the
	// processes' output, before the package's ten minutes end in a panic
	// that prints none of it.
	was := fleettest.DrainWithin
	fleettest.DrainWithin = 5 * time.Minute
	defer func() { fleettest.DrainWithin = was }()
	drainedAndRebuilt(t, js, st, "cluster")
	info, err = stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fleettest.SameDetections(t, st, store.DefaultTenant, "cluster", plain)
	fleettest.SameOperations(t, st, store.DefaultTenant, "cluster", plain)
	wa.stop(t)
	wb.stop(t)
	t.Logf("killed %s (the stream's leader) at %s, with %d messages in the stream; new leader %s; %d messages at the end; %d detections, %d operations; done after %s",
		killed.name, killedAt.Round(time.Second), atMsgs, info.Cluster.Leader, info.State.Msgs, len(plain.Detections), len(plain.Operations),
		time.Since(began).Round(time.Second))
	t.Logf("collector:\n%s\nworker a:\n%s\nworker b:\n%s", col.out.String(), wa.out.String(), wb.out.String())
}

// dialable reports whether something listens on 127.0.0.1:port.
func dialable(port int) bool {
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	c.Close()
	return true
}
