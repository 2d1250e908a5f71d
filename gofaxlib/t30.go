package gofaxlib

import "strconv"

// Class tells a sender what a T.30 completion code means for the next
// attempt.
type Class int

// Retry classes of T.30 completion codes.
const (
	ClassSuccess    Class = iota // the document was delivered
	ClassRetry                   // transient trouble: try again later
	ClassRetryNoV17              // training failed: try again without V.17 (at most 9600 bit/s)
	ClassRetryNoECM              // ECM exchange failed: try again without ECM
	ClassRetryOnce               // far end looks incapable: one more try, then fail
	ClassReformat                // far end cannot take the image size or resolution: convert again
	ClassFail                    // the far end refused: retrying cannot help
	ClassLocalFail               // our document is unusable: retrying cannot help
)

var classNames = [...]string{"success", "retry", "retry-no-v17", "retry-no-ecm", "retry-once", "reformat", "fail", "local-fail"}

// String returns a short lower-case name such as "retry-no-ecm".
func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// T30Code is a spandsp T.30 completion code (enum t30_err_e), reported by
// mod_spandsp as fax-result-code / fax_result_code.
type T30Code int

// Codes callers branch on; the full table is behind Name, Text and Class.
const (
	T30OK          T30Code = 0  // OK
	T30CallDropped T30Code = 49 // CALLDROPPED: the call dropped prematurely
)

type t30Entry struct {
	name  string
	text  string
	class Class
}

// t30Table is indexed by code; names and texts as in spandsp's t30.h and
// t30_logging.c (unchanged from 2008 to today). Codes 23..40 only occur on
// the receiving side; should they show up when sending, a retry is safe.
var t30Table = [...]t30Entry{
	0:  {"OK", "OK", ClassSuccess},
	1:  {"CEDTONE", "The CED tone exceeded 5s", ClassRetry},
	2:  {"T0_EXPIRED", "Timed out waiting for initial communication", ClassRetry},
	3:  {"T1_EXPIRED", "Timed out waiting for the first message", ClassRetry},
	4:  {"T3_EXPIRED", "Timed out waiting for procedural interrupt", ClassRetry},
	5:  {"HDLC_CARRIER", "The HDLC carrier did not stop in a timely manner", ClassRetry},
	6:  {"CANNOT_TRAIN", "Failed to train with any of the compatible modems", ClassRetryNoV17},
	7:  {"OPER_INT_FAIL", "Operator intervention failed", ClassRetry},
	8:  {"INCOMPATIBLE", "Far end is not compatible", ClassRetryOnce},
	9:  {"RX_INCAPABLE", "Far end is not able to receive", ClassRetryOnce},
	10: {"TX_INCAPABLE", "Far end is not able to transmit", ClassFail},
	11: {"NORESSUPPORT", "Far end cannot receive at the resolution of the image", ClassReformat},
	12: {"NOSIZESUPPORT", "Far end cannot receive at the size of image", ClassReformat},
	13: {"UNEXPECTED", "Unexpected message received", ClassRetry},
	14: {"TX_BADDCS", "Received bad response to DCS or training", ClassRetryNoV17},
	15: {"TX_BADPG", "Received a DCN from remote after sending a page", ClassRetry},
	16: {"TX_ECMPHD", "Invalid ECM response received from receiver", ClassRetryNoECM},
	17: {"TX_GOTDCN", "Received a DCN while waiting for a DIS", ClassRetry},
	18: {"TX_INVALRSP", "Invalid response after sending a page", ClassRetry},
	19: {"TX_NODIS", "Received other than DIS while waiting for DIS", ClassRetry},
	20: {"TX_PHBDEAD", "Received no response to DCS or TCF", ClassRetryNoV17},
	21: {"TX_PHDDEAD", "No response after sending a page", ClassRetry},
	22: {"TX_T5EXP", "Timed out waiting for receiver ready (ECM mode)", ClassRetryNoECM},
	23: {"RX_ECMPHD", "Invalid ECM response received from transmitter", ClassRetry},
	24: {"RX_GOTDCS", "DCS received while waiting for DTC", ClassRetry},
	25: {"RX_INVALCMD", "Unexpected command after page received", ClassRetry},
	26: {"RX_NOCARRIER", "Carrier lost during fax receive", ClassRetry},
	27: {"RX_NOEOL", "Timed out while waiting for EOL (end Of line)", ClassRetry},
	28: {"RX_NOFAX", "Timed out while waiting for first line", ClassRetry},
	29: {"RX_T2EXPDCN", "Timer T2 expired while waiting for DCN", ClassRetry},
	30: {"RX_T2EXPD", "Timer T2 expired while waiting for phase D", ClassRetry},
	31: {"RX_T2EXPFAX", "Timer T2 expired while waiting for fax page", ClassRetry},
	32: {"RX_T2EXPMPS", "Timer T2 expired while waiting for next fax page", ClassRetry},
	33: {"RX_T2EXPRR", "Timer T2 expired while waiting for RR command", ClassRetry},
	34: {"RX_T2EXP", "Timer T2 expired while waiting for NSS, DCS or MCF", ClassRetry},
	35: {"RX_DCNWHY", "Unexpected DCN while waiting for DCS or DIS", ClassRetry},
	36: {"RX_DCNDATA", "Unexpected DCN while waiting for image data", ClassRetry},
	37: {"RX_DCNFAX", "Unexpected DCN while waiting for EOM, EOP or MPS", ClassRetry},
	38: {"RX_DCNPHD", "Unexpected DCN after EOM or MPS sequence", ClassRetry},
	39: {"RX_DCNRRD", "Unexpected DCN after RR/RNR sequence", ClassRetry},
	40: {"RX_DCNNORTN", "Unexpected DCN after requested retransmission", ClassRetry},
	41: {"FILEERROR", "TIFF/F file cannot be opened", ClassLocalFail},
	42: {"NOPAGE", "TIFF/F page not found", ClassLocalFail},
	43: {"BADTIFF", "TIFF/F format is not compatible", ClassLocalFail},
	44: {"BADPAGE", "TIFF/F page number tag missing", ClassLocalFail},
	45: {"BADTAG", "Incorrect values for TIFF/F tags", ClassLocalFail},
	46: {"BADTIFFHDR", "Bad TIFF/F header - incorrect values in fields", ClassLocalFail},
	47: {"NOMEM", "Cannot allocate memory for more pages", ClassRetry},
	48: {"RETRYDCN", "Disconnected after permitted retries", ClassRetry},
	49: {"CALLDROPPED", "The call dropped prematurely", ClassRetry},
	50: {"NOPOLL", "Poll not accepted", ClassFail},
	51: {"IDENT_UNACCEPTABLE", "Ident not accepted", ClassFail},
	52: {"SUB_UNACCEPTABLE", "Sub-address not accepted", ClassFail},
	53: {"SEP_UNACCEPTABLE", "Selective polling address not accepted", ClassFail},
	54: {"PSA_UNACCEPTABLE", "Polled sub-address not accepted", ClassFail},
	55: {"SID_UNACCEPTABLE", "Sender identification not accepted", ClassFail},
	56: {"PWD_UNACCEPTABLE", "Password not accepted", ClassFail},
	57: {"TSA_UNACCEPTABLE", "Transmitting subscriber internet address not accepted", ClassFail},
	58: {"IRA_UNACCEPTABLE", "Internet routing address not accepted", ClassFail},
	59: {"CIA_UNACCEPTABLE", "Calling subscriber internet address not accepted", ClassFail},
	60: {"ISP_UNACCEPTABLE", "Internet selective polling address not accepted", ClassFail},
	61: {"CSA_UNACCEPTABLE", "Called subscriber internet address not accepted", ClassFail},
}

// Known reports whether c is one of spandsp's codes 0..61.
func (c T30Code) Known() bool { return c >= 0 && int(c) < len(t30Table) }

// Name returns spandsp's symbolic name without the T30_ERR_ prefix, e.g.
// "CALLDROPPED", or "UNKNOWN" for a code outside the table.
func (c T30Code) Name() string {
	if !c.Known() {
		return "UNKNOWN"
	}
	return t30Table[c].name
}

// Text returns spandsp's description of c, the same text mod_spandsp puts in
// fax-result-text.
func (c T30Code) Text() string {
	if !c.Known() {
		return "Unknown T.30 completion code " + strconv.Itoa(int(c))
	}
	return t30Table[c].text
}

// Class returns what the code means for a sender's next attempt. Unknown
// codes retry: a job that could succeed must never be failed.
func (c T30Code) Class() Class {
	if !c.Known() {
		return ClassRetry
	}
	return t30Table[c].class
}

// String returns "NAME (code)", e.g. "CALLDROPPED (49)".
func (c T30Code) String() string { return c.Name() + " (" + strconv.Itoa(int(c)) + ")" }
