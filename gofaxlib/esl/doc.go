// Package esl speaks the FreeSWITCH event socket protocol (mod_event_socket):
// the framing codec, an inbound client (Conn) that dials FreeSWITCH, and an
// outbound server (Server, OutboundConn) that FreeSWITCH's "socket"
// dialplan application connects to. It uses only the standard library and
// bounds everything it reads from a peer (MaxHeaderBytes, MaxHeaders,
// MaxBodyBytes).
//
// # Frames
//
// FreeSWITCH sends frames: "Name: value" header lines, a blank line, and,
// if there is a Content-Length header, that many bytes of body. Lines end
// in LF (CRLF is accepted). A client connecting to port 8021 is greeted by
//
//	Content-Type: auth/request
//
// and answers with a command, a line ended by a blank line:
//
//	auth ClueCon
//
// Commands are answered in order, with a command/reply
//
//	Content-Type: command/reply
//	Reply-Text: +OK accepted
//
// or, for "api", an api/response whose body is the command's output (with
// or without a trailing newline, exactly as the command printed it):
//
//	Content-Type: api/response
//	Content-Length: 14
//
//	-ERR no reply
//
// "bgapi" is answered at once, and its output arrives later as a
// BACKGROUND_JOB event carrying the same Job-UUID:
//
//	Content-Type: command/reply
//	Reply-Text: +OK Job-UUID: 84969a07-d551-4bd7-b1a2-4c384cc950d5
//	Job-UUID: 84969a07-d551-4bd7-b1a2-4c384cc950d5
//
// # Events
//
// After "event plain ALL" events arrive as text/event-plain frames whose
// body is itself a header block with URL-encoded values, optionally with
// its own Content-Length and body:
//
//	Content-Length: 834
//	Content-Type: text/event-plain
//
//	Event-Name: BACKGROUND_JOB
//	Event-Date-Local: 2026-11-22%2006%3A13%3A54
//	Job-UUID: ccd996b9-f984-4c61-ab9b-82eb4db6c68b
//	...
//	Content-Length: 26
//
//	-ERR NO_ROUTE_DESTINATION
//
// With "event json ..." the body is one JSON object; array values (such as
// variable_DP_MATCH) are JSON arrays, and "_body" holds the body:
//
//	{"Event-Name":"BACKGROUND_JOB",...,"Content-Length":"41","_body":"+OK bd78...\n"}
//
// ParseEvent turns both into an Event with decoded values; array values
// read "ARRAY::a|:b" in both formats, as FreeSWITCH stores them.
// Event.EncodePlain and Event.EncodeJSON write them back byte for byte.
//
// Other frames are text/disconnect-notice (the peer is about to close, or,
// with "Content-Disposition: linger", the channel hung up), text/rude-rejection
// (an ACL refused us), log/data (after "log"), and text/event-xml, which
// this package frames but does not decode (ErrUnsupportedFormat). A frame of
// any other type is returned with ErrUnknownContentType and the Reader stays
// in step.
//
// # Outbound sockets
//
// The dialplan application "socket 127.0.0.1:8084 async full" makes
// FreeSWITCH connect to a Server. The Server sends "connect"; the reply is
// one header block holding the whole channel data, URL-encoded, with the
// reply headers at its end and no Content-Length:
//
//	Event-Name: CHANNEL_DATA
//	Unique-ID: 0f314832-a46f-4293-85fb-140acc5cadeb
//	variable_sip_to_user: 5551236
//	...
//	Content-Type: command/reply
//	Reply-Text: %2BOK%0A
//	Socket-Mode: async
//	Control: full
//
// Applications run through sendmsg, whose headers follow the command line:
//
//	sendmsg
//	call-command: execute
//	execute-app-name: rxfax
//	execute-app-arg: /var/spool/fax/rx.tif
//	event-lock: true
//
// In async mode the reply (+OK) comes at once; completion is reported by a
// CHANNEL_EXECUTE_COMPLETE event.
//
// Everything written is checked first: a CR or LF inside a command, an
// argument or a header value gives ErrInvalidLine and nothing is sent.
package esl
