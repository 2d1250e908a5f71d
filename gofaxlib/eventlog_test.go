package gofaxlib

import "testing"

func TestEventFor(t *testing.T) {
	tests := []struct {
		name          string
		d             Direction
		before, after FaxStatus
		want          EventType // "" = none
	}{
		{"reception recorded done at once", Inbound, "", StatusReceived, EventReceived},
		{"reception ends", Inbound, StatusReceiving, StatusReceived, EventReceived},
		{"reception fails", Inbound, StatusReceiving, StatusFailed, EventReceiveFailed},
		{"reception starts", Inbound, "", StatusReceiving, ""},
		{"reception recorded again", Inbound, StatusReceived, StatusReceived, ""},
		{"failed reception recorded again", Inbound, StatusFailed, StatusFailed, ""},
		{"job queued", Outbound, "", StatusQueued, ""},
		{"job sending", Outbound, StatusQueued, StatusSending, ""},
		{"job requeued", Outbound, StatusSending, StatusRetrying, EventRetrying},
		{"job requeued again", Outbound, StatusRetrying, StatusRetrying, EventRetrying},
		{"job done", Outbound, StatusRetrying, StatusDelivered, EventDelivered},
		{"job failed", Outbound, StatusQueued, StatusFailed, EventFailed},
		{"job killed", Outbound, StatusQueued, StatusCanceled, EventCanceled},
		{"job unknown until done", Outbound, "", StatusDelivered, EventDelivered},
		{"job done twice", Outbound, StatusDelivered, StatusDelivered, ""},
		{"requeue after the end", Outbound, StatusFailed, StatusRetrying, ""},
		{"status of the other direction", Outbound, "", StatusReceived, ""},
		{"no direction", "", "", StatusReceived, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := EventFor(tt.d, tt.before, tt.after)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("EventFor(%s, %q, %q) = %q, %v; want %q", tt.d, tt.before, tt.after, got, ok, tt.want)
			}
		})
	}
}
