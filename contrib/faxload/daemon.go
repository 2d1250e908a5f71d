package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// daemon is one gofaxd started for a run, in a spool of its own.
type daemon struct {
	cmd     *exec.Cmd
	dir     string // spool, config and gofaxd's log
	addr    string // event socket listener
	metrics string // metrics listener
	exited  chan error
}

// daemonConfig is what a run needs of gofaxd.
type daemonConfig struct {
	bin            string
	tmp            string // parent of the spool ("" = os.TempDir())
	modems         int
	maxConnections int
	extra          []string // more [gofaxd] lines
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startDaemon makes a spool and a configuration that make gofaxd send
// exactly the commands of the capture (answerafter and waittime 500 ms,
// T.38 enabled and requested, ident 3333), faxrcvd /bin/true, and starts
// gofaxd; it returns once /healthz answers.
func startDaemon(ctx context.Context, c daemonConfig) (*daemon, error) {
	dir, err := os.MkdirTemp(c.tmp, "faxload-")
	if err != nil {
		return nil, err
	}
	d := &daemon{dir: dir, exited: make(chan error, 1)}
	fail := func(err error) (*daemon, error) {
		d.stop()
		return nil, err
	}
	for _, sub := range []string{"recvq", "log", "status", "etc"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			return fail(err)
		}
	}
	if d.addr, err = freePort(); err != nil {
		return fail(err)
	}
	if d.metrics, err = freePort(); err != nil {
		return fail(err)
	}
	fsAddr, err := freePort() // nobody listens: gofaxd never needs it here
	if err != nil {
		return fail(err)
	}
	conf := fmt.Sprintf(`[freeswitch]
socket = %s
ident = 3333
[hylafax]
spooldir = %s
modems = %d
[gofaxd]
socket = %s
metrics = %s
enablet38 = true
requestt38 = true
answerafter = 500
waittime = 500
faxrcvdcmd = /bin/true
maxconnections = %d
`, fsAddr, dir, c.modems, d.addr, d.metrics, c.maxConnections)
	for _, l := range c.extra {
		conf += l + "\n"
	}
	cfgPath := filepath.Join(dir, "gofax.conf")
	if err := os.WriteFile(cfgPath, []byte(conf), 0o644); err != nil {
		return fail(err)
	}
	logf, err := os.Create(filepath.Join(dir, "gofaxd.log"))
	if err != nil {
		return fail(err)
	}
	d.cmd = exec.Command(c.bin, "-c", cfgPath)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.Dir = dir
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		return fail(fmt.Errorf("starting %s: %w", c.bin, err))
	}
	logf.Close()
	go func() { d.exited <- d.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := d.scrape(ctx); err == nil {
			return d, nil
		}
		select {
		case err := <-d.exited:
			d.exited <- err
			return fail(fmt.Errorf("gofaxd exited at start (%v); see %s", err, filepath.Join(dir, "gofaxd.log")))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail(errors.New("gofaxd did not serve /metrics within 30s"))
		}
	}
}

// pid returns gofaxd's process id.
func (d *daemon) pid() int { return d.cmd.Process.Pid }

// stop ends gofaxd (SIGTERM, then SIGKILL after 20 s).
func (d *daemon) stop() {
	if d.cmd != nil && d.cmd.Process != nil {
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(20 * time.Second):
			d.cmd.Process.Kill()
			<-d.exited
		}
	}
}

// metricsSample holds the /metrics values a run reads.
type metricsSample map[string]float64

// scrape reads gofaxd's /metrics: "name{labels}" → value.
func (d *daemon) scrape(ctx context.Context) (metricsSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+d.metrics+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	m := metricsSample{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// get returns a sample value, -1 when absent.
func (m metricsSample) get(name string) float64 {
	if v, ok := m[name]; ok {
		return v
	}
	return -1
}

// procStat is what /proc/<pid>/stat says of a process.
type procStat struct {
	cpu      time.Duration // utime + stime
	children time.Duration // cutime + cstime: children waited for (faxrcvd)
	threads  int
	rss      int64 // bytes
}

// readProcStat reads /proc/<pid>/stat.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("bad /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is field 14, rss field 24.
	num := func(field int) int64 {
		if field-3 >= len(f) {
			return 0
		}
		n, _ := strconv.ParseInt(f[field-3], 10, 64)
		return n
	}
	tick := time.Second / clockTicks
	return procStat{
		cpu:      time.Duration(num(14)+num(15)) * tick,
		children: time.Duration(num(16)+num(17)) * tick,
		threads:  int(num(20)),
		rss:      num(24) * int64(os.Getpagesize()),
	}, nil
}

// idleCPU is the time every CPU of the machine spent idle (or waiting
// for I/O) since boot, from /proc/stat.
func idleCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := strings.Fields(string(line))
	if len(f) < 6 || f[0] != "cpu" {
		return 0
	}
	idle, _ := strconv.ParseInt(f[4], 10, 64)
	iowait, _ := strconv.ParseInt(f[5], 10, 64)
	return time.Duration(idle+iowait) * (time.Second / clockTicks)
}

// countFDs counts the open descriptors of pid.
func countFDs(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	n := 0
	for {
		names, err := f.Readdirnames(4096)
		n += len(names)
		if err != nil {
			return n
		}
	}
}

// peaks samples a process until stopped: the most threads, descriptors
// and resident memory seen.
type peaks struct {
	threads, fds int
	rss          int64
	stop         chan struct{}
	done         chan struct{}
}

// watch samples pid every interval.
func watch(pid int, interval time.Duration) *peaks {
	p := &peaks{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			p.sample(pid)
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *peaks) sample(pid int) {
	if ps, err := readProcStat(pid); err == nil {
		p.threads = max(p.threads, ps.threads)
		p.rss = max(p.rss, ps.rss)
	}
	p.fds = max(p.fds, countFDs(pid))
}

// end stops sampling after one last sample.
func (p *peaks) end() {
	close(p.stop)
	<-p.done
}
