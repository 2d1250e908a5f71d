// Package hylafaxtest runs a real HylaFAX 6.0.7 (Debian 12 packages) for
// tests: a private faxq and hfaxd per test, on a spool of their own and a
// free port on 127.0.0.1, stopped and removed by t.Cleanup.
//
// The tests using it run only when GOFAX_TEST_HYLAFAX=1 (make test sets
// it after contrib/install-deps.sh installed HylaFAX) and as root, because
// faxq must be started by root. Otherwise Start skips the test with
// SkipMessage, so "go test ./..." stays hermetic.
//
// # Usage
//
//	func TestSend(t *testing.T) {
//		srv := hylafaxtest.Start(t, hylafaxtest.Options{
//			SendFaxCmd: gofaxsendBinary, // copied into srv.Dir; empty: a stub exiting 2 (done)
//			Env:        []string{"GOFAX_CONFIG=" + hylafaxtest.DirVar + "/gofax.conf"},
//		})
//		writeConfig(t, filepath.Join(srv.Dir, "gofax.conf")) // readable by uucp
//		modem := srv.ModemName("ttyIAX")
//		srv.AddModem(modem, hylafaxtest.ModemOptions{Getty: true})
//		if err := srv.Announce(modem); err != nil {
//			t.Fatal(err)
//		}
//		ids := srv.Submit(t, "-d", "5551234", srv.Document())
//		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
//		defer cancel()
//		job, err := srv.WaitDone(ctx, ids[0])
//		if err != nil {
//			t.Fatal(err)
//		}
//		if job.State() != hylafaxtest.StateDone {
//			t.Errorf("job %s: state %d, status %q", job.ID, job.State(), job.Field("status"))
//		}
//	}
//
// SendFaxCmd runs as euid uucp, so everything it reads must be readable by
// uucp: t.TempDir() is not (its parents are mode 0700). Write such files
// into Server.Dir (mode 0755) and name them in Options.Env through DirVar,
// or use SetConfig after Start to point SendFaxCmd at a wrapper there.
//
// Server.Dir holds spool/ (Server.Spool), the stubs and faxq.out/hfaxd.out;
// faxq and hfaxd log through syslog (see Options.NoSyslog). When a test
// fails, those logs, the stub's and NotifyCmd's argv and the queue listings
// are written to the test log. GOFAX_TEST_HYLAFAX_KEEP=1 keeps Dir.
//
// # faxq behaviour tests must allow for
//
//   - faxq loses scheduler wake-ups: it runs the scheduler at most once a
//     second and may drop a wake-up arriving in the same second, leaving a
//     job in state 5 (ready, "W") until some unrelated event. WaitDone and
//     WaitState write "S<jobid>" to the FIFO once a second while the job is
//     ready; for a queued job that is a harmless re-submit that wakes the
//     scheduler. Code under test must not rely on a prompt dispatch either.
//   - faxq dispatches nothing without a READY modem ("No devices
//     available"). Announce the modem, or add it with a fake getty, which
//     answers faxq's start-up HELLO. After RestartFaxq modems without a
//     getty are DOWN until announced again.
//   - A job asking for a specific modem (sendfax -h modem@host, see
//     HostFor) is rejected at once unless faxq already knows that modem.
//     "any" and ModemGroups are always known.
//   - Jobs to the same number are batched into one exec of SendFaxCmd
//     (MaxBatchJobs, default 64). The exit status counts only for the
//     first qfile; every other one must carry "returned:" itself or it is
//     dispatched again. MaxConcurrentCalls (1) keeps a second job to the
//     same number blocked (state 4). Use distinct numbers per test, or
//     Options.MaxBatchJobs = 1, for one exec per job.
//   - Exit status of SendFaxCmd, used when the first qfile still says
//     "returned:7": 0 retry, 1 failed, 3 reformat (then retry), 7 not tried;
//     every other value, 4, 5, 6 and 255 included, means done. Death by a
//     signal means failed.
//   - A retry without "tts:" from the send program comes 150-449 s later
//     (JobReqOther 300; faxq's random() is unseeded, so the first delay
//     after start is always the same). Set Options.JobReqOther or write
//     tts:. maxtries/maxdials count only if the send program increments
//     tottries/totdials.
//   - faxq creates /var/lock/LCK..<modem> (holding its own pid) while the
//     send program runs; a stale lock with a live pid makes the modem BUSY.
//     The lock directory is machine-wide, hence ModemName.
//   - SendFaxCmd gets no arguments of its own (faxq drops all words after
//     the program name); it runs with cwd = spool, ruid 0 / euid uucp, all
//     file descriptors closed and faxq's environment (Options.Env) minus
//     LD_*. A "#!/bin/sh" script runs as root, "#!/bin/bash -p" as uucp.
//   - hfaxd refuses about 1 in 200 concurrent submissions with "504 ...
//     null or missing DIALSTRING" (it rereads the new job's qfile between
//     JNEW and JSUBM and loses its parameters). Submit and Sendfax run
//     sendfax once more then, and log it.
//   - The /usr/sbin admin tools of Debian's package are mount wrappers;
//     Run calls the real programs in /usr/lib/hylafax/bin instead.
//   - faxstat lists a modem only when status/<dev>, etc/config.<dev> and
//     the FIFO FIFO.<dev> all exist (AddModem creates them); the state faxq
//     keeps (ready/busy/down) is not shown.
package hylafaxtest
