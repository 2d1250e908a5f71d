jobid:12
x-tenant:acme
number:  030 1234
futuretag:a:b:c
state:5
zzz:last
