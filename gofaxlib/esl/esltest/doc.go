// Package esltest is a simulated FreeSWITCH for tests, demos and
// benchmarks: the one stand-in the project allows, built to behave like
// the real captures in ../shared/fixtures/freeswitch (FreeSWITCH 1.10.12,
// mod_spandsp, mod_event_socket, mod_db). The tests replay those captures
// against it and compare bytes, event order and header layout.
//
// A Sim listens on 127.0.0.1 for inbound event-socket clients (gofaxsend)
// and dials an outbound-socket listener (gofaxd) for inbound calls:
//
//	sim := esltest.New(t, esltest.Options{SocketAddr: gofaxdAddr})
//	sim.Route("5550486", esltest.Scenario{Outcome: esltest.Busy})
//	// gofaxsend: esl.Dial(ctx, sim.Addr(), sim.Password()), then
//	// bgapi originate {fax_ident=...}sofia/gateway/gw1/5550486 &txfax(/doc.tif)
//	rec, err := sim.PlaceCall(ctx, esltest.InboundCall{CallerNumber: "5551000", Destination: "5552000"})
//
// # Inbound side
//
// auth (a wrong password gets "-ERR invalid", the disconnect notice and a
// closed socket, byte for byte), api (db insert/select/exists/list/delete
// with mod_db's exact replies, uuid_kill, uuid_exists, uuid_getvar,
// originate, status; anything else "-ERR <cmd> Command not found!"), bgapi
// with BACKGROUND_JOB (a client's Job-UUID header is honoured), event
// plain|json with ALL, names and "CUSTOM <subclass...>", myevents <uuid>,
// nixevent, noevents, filter and filter delete, sendmsg <uuid>, exit.
//
// # Originate
//
// "originate {vars}[vars]endpoint,endpoint|endpoint &txfax(file)": values
// may be single-quoted (commas and spaces inside are literal); '|'
// separates failover groups and ',' simultaneous legs (dialled in turn
// here). origination_uuid names the channel, origination_caller_id_number
// and _name the caller, originate_timeout bounds the ringing. The
// destination is the number part of the endpoint
// (sofia/gateway/<gw>/<number>, sofia/<profile>/<user>@host, loopback/<ext>);
// error/<CAUSE> fails with that cause. A malformed string fails with
// "-ERR INVALID_NUMBER_FORMAT" and CallRecord.Error says why.
//
// Where the call goes: a destination with a Route gets that simulated far
// end; otherwise, if Options.SocketAddr is set, it loops back onto the
// socket listener as an inbound call (the txfax document arrives as the
// rxfax file; what the listener does decides the outcome); otherwise
// Options.Default answers it.
//
// # Scenarios
//
// Scenario.Outcome: Success (T.38 or G.711, 2 pages or Pages), Busy (486
// USER_BUSY), NoAnswer (rings until RingTime or originate_timeout:
// NO_ANSWER), Rejected (603 CALL_REJECTED), NoRoute (NO_ROUTE_DESTINATION),
// NotFound (404 UNALLOCATED_NUMBER), NoFax (answers, result 2 "Timed out
// waiting for initial communication" after T0). Knobs: HangupAtPage (result
// 49 "The call dropped prematurely", ordered CHANNEL_HANGUP → result →
// EXECUTE_COMPLETE → CALLSTATE HANGUP → HANGUP_COMPLETE), BadRows,
// Renegotiate (two negotiate events, audio then T.38), NeverHangup (the
// signalwire/freeswitch#143 pitfall: the result comes, the call stays up
// until uuid_kill or the listener hangs up), DropESL (the event socket that
// started the call is closed after page 1), RingTime, StationID. A missing
// txfax document gives CHANNEL_EXECUTE_COMPLETE with "Cannot send
// non-existant fax file" and no spandsp event. T.38 is negotiated when one
// side requests it and the other enables it (fax_enable_t38_request,
// fax_enable_t38 on the channels; Scenario.T38 for a simulated far end).
//
// # Outbound side
//
// The connect reply carries the channel data with caller id, destination,
// sip_to_user, sip_h_Diversion, sip_history_info, sip_P-Called-Party-ID
// and sip_gateway as InboundCall says. Then linger, nolinger, myevents,
// event, filter, api, exit and sendmsg execute/hangup. Applications:
// answer, pre_answer, ring_ready, sleep, playback
// (silence_stream://<ms>), set, export, unset, respond <code>, hangup,
// rxfax (writes a real TIFF: the sender's pages that got through, into
// the file the receiver named, in place as libtiff does, so a file it
// created keeps its owner, mode and lock; each page's FaxDcs, like the
// page events, describes the page sent: its resolution and coding, the
// session's rate, 9600 with fax_disable_v17, and ECM), txfax.
// Without event-lock, queued applications run nested inside a running
// playback or sleep once the channel is answered, and the outer one
// completes at hangup, as in the noeventlock capture. After the hangup
// events come the linger notice, then "+OK bye" and the final notice on
// exit. With Options.SyncSocket the dialplan is "socket <addr> full"
// (Socket-Mode: static): each sendmsg is answered when its application is
// done, the linger notice comes before CHANNEL_HANGUP, and the channel is
// held (no HANGUP_COMPLETE, no BYE to a loopback sender) until the client
// exits. A sending txfax that reached phase E and then gets the BYE
// completes before its CHANNEL_HANGUP, as in sync-mode-t38_A.
//
// # Events and time
//
// Events are built the way FreeSWITCH builds them (Event-* headers, channel
// data, caller profile, variables, then the event's own headers); the
// renderers reproduce captured plain and JSON events byte for byte.
// Channel variables are copied from the embedded captures and rewritten
// for each call. Durations are the captured ones (7.7 s to negotiate, about
// 10 s a page) multiplied by Options.TimeScale; timeouts that wait for a
// real program (the listener answering, its rxfax starting) never shrink
// below 3 s.
//
// # Recording
//
// Calls, Call, Conns (every command per connection), Kills, DB, and Wait,
// WaitCall and WaitIdle, which block on a context. Close stops everything
// and waits for every goroutine.
//
// Deliberate simplifications: one switch plays both ends of a loopback
// call, so an inbound client subscribed to ALL sees both legs' events;
// CHANNEL_STATE is fired at the main transitions only and CODEC,
// CALL_UPDATE, HEARTBEAT, PLAYBACK_* are not produced; in sync mode the
// events of an application are sent as they happen rather than in one
// burst with its reply; time stamps in the copied billing variables are
// those of the capture.
package esltest
