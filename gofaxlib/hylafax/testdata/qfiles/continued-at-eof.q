jobid:17
status:ends with a continuation\