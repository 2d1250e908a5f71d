package receive

// Events the call subscribes to: what the outbound-rx captures show a
// receive session needs. CUSTOM spandsp events must be named; myevents
// does not deliver them.
var subscription = []string{
	"CHANNEL_CALLSTATE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE",
	"CUSTOM", "spandsp::rxfaxnegociateresult", "spandsp::rxfaxpageresult", "spandsp::rxfaxresult",
}
