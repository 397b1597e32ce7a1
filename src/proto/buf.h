/* buf.h: being written */
