/* line.h: being written */
