state:5
state:6
number:1
number:2
status:\
\

returned:1
