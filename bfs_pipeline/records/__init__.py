"""The data as allmänna handlingar: a respondent's access request and erasure decision, the wave's archive copy,
and how long read answer sheets are kept in the inbox."""
