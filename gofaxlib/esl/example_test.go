package esl_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// Sending a fax through the inbound socket: subscribe, filter on the
// channel and the job, originate with bgapi and follow the events.
func ExampleConn_BgAPIJob() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := esl.Dial(ctx, "127.0.0.1:8021", "ClueCon")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	callUUID, jobUUID := esl.NewUUID(), esl.NewUUID()
	if err := c.Subscribe(ctx, esl.FormatPlain, "BACKGROUND_JOB", "CHANNEL_HANGUP_COMPLETE", "CUSTOM", "spandsp::txfaxresult"); err != nil {
		log.Fatal(err)
	}
	// With filters, BACKGROUND_JOB passes only through its own filter.
	if err := c.Filter(ctx, "Unique-ID", callUUID); err != nil {
		log.Fatal(err)
	}
	if err := c.Filter(ctx, "Job-UUID", jobUUID); err != nil {
		log.Fatal(err)
	}
	job, err := c.BgAPIJob(ctx, jobUUID, "originate {origination_uuid="+callUUID+"}sofia/gateway/gw/5551234 &txfax(/tmp/doc.tif)")
	if err != nil {
		log.Fatal(err)
	}
	for {
		select {
		case <-job.Done():
			if _, err := job.Wait(ctx); err != nil {
				var re *esl.ReplyError
				if errors.As(err, &re) {
					fmt.Println("call failed:", re.Reason()) // e.g. USER_BUSY
				}
				return
			}
		case e, ok := <-c.Events():
			if !ok {
				log.Fatal(c.Err())
			}
			if e.Subclass() == "spandsp::txfaxresult" {
				fmt.Println("pages sent:", e.Get("fax-document-transferred-pages"))
			}
			if e.Name() == "CHANNEL_HANGUP_COMPLETE" {
				return
			}
		}
	}
}

// Looking up a mod_db key: "-ERR no reply" means not found.
func ExampleConn_API() {
	ctx := context.Background()
	c, err := esl.Dial(ctx, "127.0.0.1:8021", "ClueCon")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	v, err := c.API(ctx, "db select/fallback/5551234")
	switch {
	case errors.Is(err, esl.ErrNoReply):
		fmt.Println("no such key")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("value:", v)
	}
}

// Receiving a fax on the outbound socket ("socket 127.0.0.1:8084 async full").
func ExampleServer() {
	s := &esl.Server{
		Addr: "127.0.0.1:8084",
		Handler: func(ctx context.Context, c *esl.OutboundConn) {
			fmt.Println("call to", c.ChannelData().Var("sip_to_user"))
			if err := c.Linger(ctx); err != nil {
				return
			}
			if err := c.Filter(ctx, "Unique-ID", c.UUID()); err != nil {
				return
			}
			if err := c.Subscribe(ctx, esl.FormatPlain, "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP_COMPLETE", "CUSTOM", "spandsp::rxfaxresult"); err != nil {
				return
			}
			c.Execute(ctx, "answer", "")
			c.Execute(ctx, "rxfax", "/var/spool/fax/rx.tif")
			for e := range c.Events() {
				switch {
				case e.Subclass() == "spandsp::rxfaxresult":
					fmt.Println("result:", e.Get("fax-result-text"))
				case e.Name() == "CHANNEL_EXECUTE_COMPLETE" && e.Get("Application") == "rxfax":
					c.Hangup(ctx, "NORMAL_CLEARING")
				case e.Name() == "CHANNEL_HANGUP_COMPLETE":
					c.Exit(ctx)
					return
				}
			}
		},
	}
	if err := s.Open(); err != nil {
		log.Fatal(err)
	}
	go s.Serve()
	// ... on SIGTERM:
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.Shutdown(ctx)
}
