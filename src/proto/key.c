/* key.c: being written */
