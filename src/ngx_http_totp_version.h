
/*
 * The module's version: the one place it is written.  The startup log
 * line, the Debian package and the metrics' build info take it from here.
 */


#ifndef _NGX_HTTP_TOTP_VERSION_H_INCLUDED_
#define _NGX_HTTP_TOTP_VERSION_H_INCLUDED_


#define NGX_HTTP_TOTP_VERSION  "0.3.0"


#endif /* _NGX_HTTP_TOTP_VERSION_H_INCLUDED_ */
