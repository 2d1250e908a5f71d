jobid:15
number:5551234
status:CRLF line\
next
