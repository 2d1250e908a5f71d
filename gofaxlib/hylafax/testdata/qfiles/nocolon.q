jobid:13
this line has no colon

number:5551234
  
state:2
