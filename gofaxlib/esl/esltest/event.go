package esltest

import (
	"strings"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// event is one FreeSWITCH event with decoded header values, rendered per
// subscriber format on delivery.
type event struct {
	name     string
	subclass string
	headers  esl.Headers
	body     string

	plain, json []byte // rendered once, under the bus lock
}

func (e *event) get(name string) string { return e.headers.Get(name) }

// source is where FreeSWITCH fires an event: the Event-Calling-* headers.
type source struct {
	file, function, line string
}

// sources maps event names (and spandsp subclasses) to the Event-Calling-*
// values seen in the FreeSWITCH 1.10.12 captures.
var sources = map[string]source{
	"BACKGROUND_JOB":                {"mod_event_socket.c", "api_exec", "1572"},
	"CHANNEL_ANSWER":                {"switch_channel.c", "switch_channel_perform_mark_answered", "3846"},
	"CHANNEL_CALLSTATE":             {"switch_channel.c", "switch_channel_perform_set_callstate", "301"},
	"CHANNEL_CREATE":                {"switch_core_state_machine.c", "switch_core_session_run", "626"},
	"CHANNEL_DESTROY":               {"switch_core_session.c", "switch_core_session_perform_destroy", "1584"},
	"CHANNEL_EXECUTE":               {"switch_core_session.c", "switch_core_session_exec", "2944"},
	"CHANNEL_EXECUTE_COMPLETE":      {"switch_core_session.c", "switch_core_session_exec", "2967"},
	"CHANNEL_HANGUP":                {"switch_channel.c", "switch_channel_perform_hangup", "3445"},
	"CHANNEL_HANGUP_COMPLETE":       {"switch_core_state_machine.c", "switch_core_session_reporting_state", "943"},
	"CHANNEL_ORIGINATE":             {"switch_core_state_machine.c", "switch_core_session_run", "632"},
	"CHANNEL_OUTGOING":              {"switch_core_session.c", "switch_core_session_outgoing_channel", "768"},
	"CHANNEL_PARK":                  {"switch_ivr.c", "switch_ivr_park", "1002"},
	"CHANNEL_PROGRESS":              {"switch_channel.c", "switch_channel_perform_mark_ring_ready_value", "3505"},
	"CHANNEL_STATE":                 {"switch_channel.c", "switch_channel_perform_set_running_state", "2408"},
	"CHANNEL_UNPARK":                {"switch_ivr.c", "switch_ivr_park", "1213"},
	"CHANNEL_DATA":                  {"mod_event_socket.c", "parse_command", "2021"},
	"spandsp::txfaxnegociateresult": {"mod_spandsp_fax.c", "phase_b_handler", "386"},
	"spandsp::rxfaxnegociateresult": {"mod_spandsp_fax.c", "phase_b_handler", "386"},
	"spandsp::txfaxpageresult":      {"mod_spandsp_fax.c", "phase_d_handler", "521"},
	"spandsp::rxfaxpageresult":      {"mod_spandsp_fax.c", "phase_d_handler", "521"},
	"spandsp::txfaxresult":          {"mod_spandsp_fax.c", "phase_e_handler", "676"},
	"spandsp::rxfaxresult":          {"mod_spandsp_fax.c", "phase_e_handler", "676"},
}

// withVariables lists the events FreeSWITCH fills with every channel
// variable (switch_channel_event_set_extended_data); the others carry only
// the channel and caller-profile headers.
var withVariables = map[string]bool{
	"CHANNEL_CREATE": true, "CHANNEL_ORIGINATE": true, "CHANNEL_ANSWER": true,
	"CHANNEL_PARK": true, "CHANNEL_UNPARK": true, "CHANNEL_PROGRESS": true,
	"CHANNEL_HANGUP": true, "CHANNEL_HANGUP_COMPLETE": true, "CHANNEL_DATA": true,
	"CHANNEL_EXECUTE": true, "CHANNEL_EXECUTE_COMPLETE": true, "CHANNEL_DESTROY": true,
	"CUSTOM": true,
}

// subscription is what one connection asked for with event/myevents/filter.
type subscription struct {
	format     string // "plain" or "json"; "" = no events
	all        bool
	names      map[string]bool
	subclasses map[string]bool
	filters    []esl.Header
	// session restricts delivery to one channel (outbound socket myevents).
	session  string
	myevents bool
}

// wants reports whether ev is delivered under s.
func (s *subscription) wants(ev *event) bool {
	if s.format == "" {
		return false
	}
	if s.session != "" && ev.get("Unique-ID") != s.session {
		return false
	}
	ok := s.all || s.names[ev.name]
	if ev.name == "CUSTOM" {
		ok = s.all || s.subclasses[ev.subclass]
	}
	if !ok && s.myevents {
		// myevents delivers the session's channel events, but not
		// CHANNEL_CALLSTATE nor CUSTOM events (captures
		// outbound_socket_B_rxfax_session.raw, README fact 5).
		ok = strings.HasPrefix(ev.name, "CHANNEL_") && ev.name != "CHANNEL_CALLSTATE"
	}
	if !ok {
		return false
	}
	if len(s.filters) == 0 {
		return true
	}
	for _, f := range s.filters {
		if ev.get(f.Name) == f.Value {
			return true
		}
	}
	return false
}

// eventNames are FreeSWITCH 1.10's event types (switch_event.c EVENT_NAMES).
var eventNames = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`CUSTOM CLONE CHANNEL_CREATE CHANNEL_DESTROY CHANNEL_STATE
		CHANNEL_CALLSTATE CHANNEL_ANSWER CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CHANNEL_EXECUTE
		CHANNEL_EXECUTE_COMPLETE CHANNEL_HOLD CHANNEL_UNHOLD CHANNEL_BRIDGE CHANNEL_UNBRIDGE
		CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_OUTGOING CHANNEL_PARK CHANNEL_UNPARK
		CHANNEL_APPLICATION CHANNEL_ORIGINATE CHANNEL_UUID API LOG INBOUND_CHAN OUTBOUND_CHAN
		STARTUP SHUTDOWN PUBLISH UNPUBLISH TALK NOTALK SESSION_CRASH MODULE_LOAD MODULE_UNLOAD
		DTMF MESSAGE PRESENCE_IN NOTIFY_IN PRESENCE_OUT PRESENCE_PROBE MESSAGE_WAITING
		MESSAGE_QUERY ROSTER CODEC BACKGROUND_JOB DETECTED_SPEECH DETECTED_TONE PRIVATE_COMMAND
		HEARTBEAT TRAP ADD_SCHEDULE DEL_SCHEDULE EXE_SCHEDULE RE_SCHEDULE RELOADXML NOTIFY
		SEND_MESSAGE RECV_MESSAGE REQUEST_PARAMS CHANNEL_DATA GENERAL COMMAND SESSION_HEARTBEAT
		CLIENT_DISCONNECTED SERVER_DISCONNECTED SEND_INFO RECV_INFO RECV_RTCP_MESSAGE
		SEND_RTCP_MESSAGE CALL_SECURE NAT RECORD_START RECORD_STOP PLAYBACK_START PLAYBACK_STOP
		CALL_UPDATE FAILURE SOCKET_DATA MEDIA_BUG_START MEDIA_BUG_STOP CONFERENCE_DATA_QUERY
		CONFERENCE_DATA CALL_SETUP_REQ CALL_SETUP_RESULT CALL_DETAIL DEVICE_STATE TEXT
		SHUTDOWN_REQUESTED ALL`) {
		eventNames[n] = true
	}
}

// eventName returns the event type a word of "event" names, as
// switch_name_event reads it: case-insensitive, also with any 13-byte
// prefix (SWITCH_EVENT_CHANNEL_ANSWER); "" for no event type.
func eventName(w string) string {
	u := strings.ToUpper(w)
	if eventNames[u] {
		return u
	}
	if len(u) > 13 && eventNames[u[13:]] {
		return u[13:]
	}
	return ""
}

// subscribe applies the words of "event [plain|json] <names...>" to s as
// mod_event_socket does: a first word naming a format sets it (plain is a
// listener's default); unknown names are skipped; every word after CUSTOM
// is a subclass; without one known event name the command is refused
// ("-ERR no keywords supplied") though a format word still applies. It
// returns the format or the error reply. XML events are not simulated.
func (s *subscription) subscribe(words []string) (format, errReply string) {
	if s.format == "" {
		s.format = "plain"
	}
	if s.names == nil {
		s.names = map[string]bool{}
		s.subclasses = map[string]bool{}
	}
	known, custom := 0, false
	for i, w := range words {
		if w == "" {
			continue
		}
		if i == 0 {
			switch f := strings.ToLower(w); f {
			case "plain", "json":
				s.format = f
				continue
			case "xml":
				return "", "-ERR xml events are not simulated"
			}
		}
		if custom {
			s.subclasses[w] = true // FreeSWITCH reads every word after CUSTOM as a subclass
			continue
		}
		switch n := eventName(w); n {
		case "":
		case "ALL":
			s.all = true
			known++
		case "CUSTOM":
			custom = true
			known++
		default:
			s.names[n] = true
			known++
		}
	}
	if known == 0 {
		return "", "-ERR no keywords supplied"
	}
	return s.format, ""
}
