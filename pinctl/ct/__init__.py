"""Certificate Transparency: the log list, the SCTs a leaf carries, and the browsers' policies.

`loglist` reads a v3 log list (Google's or Apple's) that the user downloads; `sct` parses
SCT lists and verifies each signature with its log's key; `policy` judges the verified
SCTs by Chrome's and Apple's rules; `report` puts the three together for one leaf. No
module reads the clock or the network: the time is passed in, the list is a file.
"""
