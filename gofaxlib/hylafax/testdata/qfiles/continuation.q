tts:1795327911
state:3
number:5551234
status:Busy signal detected\
(retry in 3 minutes)\
see log/c000000042
statuscode:0
returned:0
fax:0::docq/doc9.tif;00
