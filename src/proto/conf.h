/* conf.h: being written */
