/*
 * http.h -- HTTP/1.1 request head parser and WebSocket handshake codec.
 *
 * Pure functions over memory: no sockets, no clock, no allocation.
 *
 * The parser follows picohttpparser's contract: it returns the length of
 * the request head (request line, header lines and the empty line), -2
 * (HTTP_PARTIAL) if more bytes are needed, or -1 (HTTP_ERROR) with an HTTP
 * status in *status (400 malformed, 431 too large or too many headers).
 * It is meant to be re-run on an accumulated buffer: struct http_request
 * remembers how far it got, so each byte is examined once and the result
 * does not depend on how the input was split.  The buffer must stay at the
 * same address between calls and only grow; every pointer stored in the
 * request points into it.
 *
 * Grammar (RFC 9112), strict:
 *   request-line = method SP request-target SP "HTTP/" DIGIT "." DIGIT CRLF
 *   header-line  = field-name ":" OWS field-value OWS CRLF
 * - lines end with CRLF; a bare LF or a CR not followed by LF is an error;
 * - NUL, other control characters (except HTAB inside values) and DEL are
 *   errors anywhere in the head, detected as soon as they arrive;
 * - obs-fold (a header line starting with SP or HTAB), whitespace between
 *   a field name and the colon, and empty lines before the request line
 *   are errors;
 * - obs-text (octets 0x80-0xff) is allowed in field values only;
 * - the request target must be origin-form ("/path?query") or
 *   absolute-form with an http, https, ws or wss scheme; anything else
 *   (asterisk-form, authority-form) is an error;
 * - any syntactically valid HTTP/x.y version is accepted here; the
 *   handshake check rejects everything but HTTP/1.1;
 * - Host (RFC 9112 3.2): more than one Host header line is an error, and
 *   so is none in an HTTP/1.1 (1.x, x >= 1) request; its value is not
 *   checked (absolute-form targets carry their own authority).
 */
#ifndef WS_HTTP_H
#define WS_HTTP_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define HTTP_PARTIAL		(-2)
#define HTTP_ERROR		(-1)
#define HTTP_MAX_HEADERS	64

/* Views into the caller's buffer; not NUL-terminated. */
struct http_header {
	const char	*name;
	size_t		 namelen;
	const char	*value;		/* without leading/trailing OWS */
	size_t		 valuelen;
};

struct http_request {
	const char	*method;
	size_t		 methodlen;
	const char	*target;	/* as sent */
	size_t		 targetlen;
	const char	*path;		/* no scheme, authority, query */
	size_t		 pathlen;
	int		 major;		/* HTTP version */
	int		 minor;
	size_t		 nheaders;
	struct http_header headers[HTTP_MAX_HEADERS];
	const char	*why;		/* after HTTP_ERROR: why */

	/* Parser state; private. */
	size_t		 off;		/* start of the first line not parsed */
	size_t		 scanned;	/* octets already checked */
	int		 started;	/* the request line has been parsed */
};

void		 http_request_init(struct http_request *);
/*
 * Parse buf[0..len); only the first max octets may hold the head.  Returns
 * the head length, HTTP_PARTIAL or HTTP_ERROR (*status is then set).
 * After an error or a complete head, call http_request_init() before
 * parsing another request.
 */
ssize_t		 http_request_parse(struct http_request *, const char *,
		    size_t len, size_t max, int *status);
/* First header with this name (case-insensitive), from index *idx on. */
const struct http_header *
		 http_header_find(const struct http_request *, const char *,
		    size_t *idx);
/* Case-insensitive search for a token in a comma-separated header list. */
int		 http_list_has_token(const char *, size_t, const char *);
const char	*http_status_text(int);
/*
 * A complete error response: status line, Content-Type: text/plain,
 * Content-Length, Connection: close, the optional extra header lines
 * (each ending in CRLF), the empty line and body.  Returns its length, or
 * -1 if it does not fit in buflen octets.
 */
int		 http_error_response(char *, size_t, int, const char *extra,
		    const char *body);

/*
 * WebSocket opening handshake (RFC 6455 section 4.2.1), checked in the
 * order lua-resty-websocket (used by Apache APISIX) checks it, with the
 * reason strings it uses:
 *   WS_HS_BAD_HTTP_VERSION	"bad http version"
 *   WS_HS_BAD_UPGRADE		"bad \"upgrade\" request header: <value|nil>"
 *   WS_HS_BAD_CONNECTION	"bad \"connection\" request header"
 *   WS_HS_BAD_KEY		"bad \"sec-websocket-key\" request header"
 *   WS_HS_BAD_WS_VERSION	"bad \"sec-websocket-version\" request header"
 * and then our own checks, which APISIX does not make:
 *   WS_HS_BAD_METHOD		"bad http method"
 *   WS_HS_BODY			"unexpected request body"
 * Every failure is answered with HTTP 400 (the version failure also with
 * "Sec-WebSocket-Version: 13", RFC 6455 section 4.4).
 *
 * Differences from APISIX: Connection must contain the token "upgrade"
 * (APISIX looks for the substring); Sec-WebSocket-Key must be 24 base64
 * characters that decode to 16 octets (APISIX only wants it present); the
 * method must be GET; no request body may be announced.  When a header
 * appears more than once, the first one counts, except Connection, whose
 * lines are all searched.
 */
enum ws_hs_error {
	WS_HS_OK = 0,
	WS_HS_BAD_HTTP_VERSION,
	WS_HS_BAD_UPGRADE,
	WS_HS_BAD_CONNECTION,
	WS_HS_BAD_KEY,
	WS_HS_BAD_WS_VERSION,
	WS_HS_BAD_METHOD,
	WS_HS_BODY
};

#define WS_KEY_LEN		24
#define WS_ACCEPT_LEN		28
#define WS_REASON_MAX		160

struct ws_handshake {
	const char	*key;		/* WS_KEY_LEN octets in the request */
	/*
	 * The first token of the first Sec-WebSocket-Protocol header, or
	 * NULL if there is none or it is not a valid token.  We echo only
	 * that one (APISIX echoes the whole header value, which RFC 6455
	 * forbids when it is a list).
	 */
	const char	*protocol;
	size_t		 protocollen;
};

/* Returns WS_HS_OK or the failure, with its reason NUL-terminated. */
int		 ws_handshake_check(const struct http_request *,
		    struct ws_handshake *, char *reason, size_t reasonlen);
/* Sec-WebSocket-Accept for a key: WS_ACCEPT_LEN chars and a NUL. */
int		 ws_handshake_accept(const char *key, size_t keylen,
		    char out[WS_ACCEPT_LEN + 1]);
/* The 101 response; returns its length or -1 if buflen is too small. */
int		 ws_handshake_response(const struct ws_handshake *, char *,
		    size_t);

#endif /* WS_HTTP_H */
