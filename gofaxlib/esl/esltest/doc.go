// Package esltest is a simulated FreeSWITCH for tests, demos and
// benchmarks: the one stand-in the project allows, built to behave like
// the real captures in ../shared/fixtures/freeswitch (FreeSWITCH 1.10.12,
// mod_spandsp, mod_event_socket, mod_db).
//
// A Sim listens on 127.0.0.1 for inbound event-socket clients (gofaxsend)
// and dials an outbound-socket listener (gofaxd) for inbound calls:
//
//	s := esltest.New(t, esltest.Options{SocketAddr: "127.0.0.1:8022"})
//	s.Route("5550486", esltest.Scenario{Outcome: esltest.Busy})
//	// gofaxsend: esl.Dial(ctx, s.Addr(), s.Password()) then
//	// bgapi originate {fax_ident=...}sofia/gateway/gw/5550486 &txfax(/doc.tif)
//	rec, err := s.PlaceCall(ctx, esltest.InboundCall{CallerNumber: "5551000", Destination: "5552000"})
//
// Inbound side: auth (a wrong password gets "-ERR invalid", the disconnect
// notice and a closed socket), api (db insert/select/exists/list/delete
// with mod_db's exact replies, uuid_kill, uuid_exists, uuid_getvar,
// originate, status), bgapi with BACKGROUND_JOB, event plain|json with ALL,
// names and CUSTOM subclasses, filter, noevents, sendmsg <uuid>, exit.
//
// Originate: "{vars}[vars]endpoint|endpoint,endpoint &txfax(file)". Values
// may be single-quoted. The destination is the number part of the
// endpoint (sofia/gateway/<gw>/<number>, sofia/<profile>/<user>@host,
// error/<CAUSE> fails with that cause). A destination with a Route gets
// that simulated far end; otherwise, if Options.SocketAddr is set, the call
// loops back onto the socket listener as an inbound call (the txfax
// document arrives as the rxfax file, T.38 negotiated when one side
// requests and the other enables it); otherwise Options.Default answers.
//
// Outbound side: the channel data of "socket <addr> async full", then
// linger, myevents, event, filter, api, exit and sendmsg execute/hangup.
// Applications: answer, pre_answer, ring_ready, sleep, playback
// (silence_stream://ms), set, export, unset, respond, hangup, rxfax, txfax.
// Without event-lock, queued applications run nested inside a running
// playback/sleep once the channel is answered, as in the captures.
//
// Events are built the way FreeSWITCH builds them (Event-*, channel data,
// caller profile, variables, event headers, in that order; values
// URL-encoded in plain, cJSON-like in json) with channel variables copied
// from the embedded captures and rewritten for each call. Durations are
// the captured ones multiplied by Options.TimeScale.
//
// Deliberate simplifications: one switch plays both ends of a loopback
// call, so an inbound client sees both legs' events; simultaneous (',')
// legs are dialled in turn like failover legs; CHANNEL_STATE,
// CODEC, CALL_UPDATE and HEARTBEAT events are mostly not produced; sync
// ("socket addr full" without async) mode is not simulated; timestamps in
// the copied billing variables are those of the capture.
package esltest
