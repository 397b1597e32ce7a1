/* line.c: being written */
