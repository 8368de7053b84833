package bidi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Firefox is a headless Firefox started by LaunchFirefox, with its BiDi
// connection and session.
type Firefox struct {
	*Conn
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has ended
	waited error         // the process's end, once exited is closed
	log    *tail
}

// listening is what Firefox writes to stderr once its BiDi server listens.
const listening = "WebDriver BiDi listening on "

// LaunchFirefox starts the Firefox at path headless, with the empty or
// fresh profile folder profile and a BiDi port the system picks, connects
// to it and starts a session that accepts insecure certificates (test
// servers have self-signed ones) and leaves user prompts open for the test
// to answer (OnPrompt, HandlePrompt): one it does not answer blocks the
// page. Close stops it.
func LaunchFirefox(ctx context.Context, path, profile string) (*Firefox, error) {
	cmd := exec.Command(path, "--headless", "--remote-debugging-port=0", "-no-remote", "-profile", profile, "about:blank")
	cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	f := &Firefox{cmd: cmd, exited: make(chan struct{}), log: &tail{max: 40}}
	url := make(chan string, 1)
	go func() {
		readStderr(stderr, f.log, url)
		f.waited = cmd.Wait()
		close(f.exited)
	}()
	select {
	case u := <-url:
		f.Conn, err = Dial(ctx, u)
	case <-f.exited:
		err = fmt.Errorf("%s ended before its BiDi server listened: %v; it wrote: %s", path, f.waited, f.log)
	case <-ctx.Done():
		err = fmt.Errorf("%s: waiting for its BiDi server: %w; it wrote: %s", path, ctx.Err(), f.log)
	}
	if err == nil {
		err = f.NewSession(ctx, Session{AcceptInsecureCerts: true, Prompts: "ignore"})
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// readStderr sends the BiDi URL Firefox writes, keeping the last lines of
// the rest, until stderr ends.
func readStderr(r io.Reader, log *tail, url chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		if u, ok := strings.CutPrefix(line, listening); ok && !sent {
			url <- strings.TrimSpace(u) + "/session"
			sent = true
			continue
		}
		log.add(line)
	}
	io.Copy(io.Discard, r) // a line too long for the scanner
}

// Close ends the session and the browser, killing it if it does not end
// within ten seconds.
func (f *Firefox) Close() error {
	var err error
	if f.Conn == nil {
		f.cmd.Process.Kill() // it never listened or could not be reached
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if e := f.CloseBrowser(ctx); e != nil && !errors.Is(e, ErrClosed) {
			err = e
		}
		cancel()
		f.Conn.Close()
	}
	select {
	case <-f.exited:
	case <-time.After(10 * time.Second): // a guard against a hang
		f.cmd.Process.Kill()
		<-f.exited
		if err == nil {
			err = fmt.Errorf("firefox did not close; killed it")
		}
	}
	return err
}

// Stderr returns the last lines Firefox wrote to stderr.
func (f *Firefox) Stderr() string { return f.log.String() }

// tail keeps the last max lines written to it.
type tail struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == t.max {
		t.lines = append(t.lines[:0], t.lines[1:]...)
	}
	t.lines = append(t.lines, line)
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// FirefoxEnv names a Firefox binary for the tests, in place of the one on
// PATH.
const FirefoxEnv = "SPOOR_FIREFOX"

// FirefoxPath returns $SPOOR_FIREFOX, or Debian's firefox-esr (or a
// firefox) on PATH, or "" without one.
func FirefoxPath() string {
	if p := os.Getenv(FirefoxEnv); p != "" {
		return p
	}
	for _, name := range []string{"firefox-esr", "firefox"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}
