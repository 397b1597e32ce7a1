/* buf.c: being written */
