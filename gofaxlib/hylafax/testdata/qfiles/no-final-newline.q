jobid:16
state:5
status:no final newline