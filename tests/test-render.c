#include "autoconfig.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "render.h"

#define SECRET "hunter2-s3cret"

/* The variables most tests use. */
static struct render_vars *fixture(void)
{
	struct render_vars *v = render_vars_new();

	assert_non_null(v);
	assert_int_equal(render_vars_set(v, "port", "6379", 0), 0);
	assert_int_equal(render_vars_set(v, "host", "db.example.com", 0), 0);
	assert_int_equal(render_vars_set(v, "empty", "", 0), 0);
	assert_int_equal(render_vars_set(v, "spaced", "a b", 0), 0);
	assert_int_equal(render_vars_set(v, "password", SECRET, RENDER_SENSITIVE), 0);
	assert_int_equal(render_vars_set_bool(v, "yes", true), 0);
	assert_int_equal(render_vars_set_bool(v, "no", false), 0);
	assert_int_equal(render_vars_list_add(v, "ports", "80"), 0);
	assert_int_equal(render_vars_list_add(v, "ports", "443"), 0);
	assert_int_equal(render_vars_list_add(v, "ports", "8080"), 0);
	assert_int_equal(render_vars_list_add(v, "nolist", NULL), 0);
	return v;
}

static char *render_ok(const char *tmpl, enum render_escape esc, const struct render_vars *v,
		       unsigned flags)
{
	char *out = NULL, *cause = NULL;
	size_t n = SIZE_MAX;
	int r;

	r = render_template(tmpl, strlen(tmpl), "t.conf", esc, v, flags, &out, &n, &cause);
	if (r < 0)
		print_error("render failed: %d %s\n", r, cause ? cause : "(no cause)");
	assert_int_equal(r, 0);
	assert_null(cause);
	assert_non_null(out);
	assert_int_equal(n, strlen(out));
	return out;
}

#define check_render(tmpl, esc, v, flags, expected)                                  \
	do {                                                                         \
		_cleanup_free_ char *_out = render_ok((tmpl), (esc), (v), (flags));  \
		assert_string_equal(_out, (expected));                               \
	} while (0)

static void check_error(const char *tmpl, enum render_escape esc, const struct render_vars *v,
			unsigned flags, const char *expected)
{
	static char sentinel[] = "untouched";
	char *out = sentinel;
	_cleanup_free_ char *cause = NULL;
	size_t n = 4242;
	int r;

	r = render_template(tmpl, strlen(tmpl), "t.conf", esc, v, flags, &out, &n, &cause);
	assert_int_equal(r, -EINVAL);
	assert_ptr_equal(out, sentinel);
	assert_int_equal(n, 4242);
	assert_non_null(cause);
	assert_string_equal(cause, expected);
	assert_null(strstr(cause, SECRET));
}

static void check_escape(const char *value, enum render_escape esc, const char *expected)
{
	_cleanup_free_ char *s = render_escape_value(value, esc);

	assert_non_null(s);
	assert_string_equal(s, expected);
}

static void check_refused(const char *value, enum render_escape esc)
{
	char *s;

	errno = 0;
	s = render_escape_value(value, esc);
	assert_null(s);
	assert_int_equal(errno, EINVAL);
}

static void test_vars(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = render_vars_new();

	assert_non_null(v);
	assert_int_equal(render_vars_set(v, "Upper", "x", 0), -EINVAL);
	assert_int_equal(render_vars_set(v, "a-b", "x", 0), -EINVAL);
	assert_int_equal(render_vars_set(v, "", "x", 0), -EINVAL);
	assert_int_equal(render_vars_set(v, NULL, "x", 0), -EINVAL);
	assert_int_equal(render_vars_set(v, "a", NULL, 0), -EINVAL);
	assert_int_equal(render_vars_set(NULL, "a", "x", 0), -EINVAL);
	assert_int_equal(render_vars_set_bool(v, "a b", true), -EINVAL);
	assert_int_equal(render_vars_list_add(v, "a.b", "x"), -EINVAL);
	assert_int_equal(render_vars_setf(v, "B", 0, "%d", 1), -EINVAL);

	assert_int_equal(render_vars_set(v, "a_1", "first", 0), 0);
	assert_int_equal(render_vars_set(v, "a_1", "second", 0), 0);
	assert_int_equal(render_vars_setf(v, "n", 0, "%s-%d", "port", 6379), 0);
	assert_int_equal(render_vars_setf(v, "blank", 0, "%s", ""), 0);
	check_render("{{a_1}} {{n}} [{{blank}}]", RENDER_TEXT, v, 0, "second port-6379 []");

	/* A string becomes a list; a list becomes a bool; a bool becomes a string. */
	assert_int_equal(render_vars_list_add(v, "a_1", NULL), 0);
	check_render("[{{a_1}}]{{#if a_1}}full{{else}}empty{{/if}}", RENDER_TEXT, v, 0, "[]empty");
	assert_int_equal(render_vars_list_add(v, "a_1", "x"), 0);
	assert_int_equal(render_vars_list_add(v, "a_1", "y"), 0);
	check_render("[{{a_1}}]", RENDER_TEXT, v, 0, "[x y]");
	assert_int_equal(render_vars_set_bool(v, "a_1", true), 0);
	check_render("{{#if a_1}}on{{/if}}", RENDER_TEXT, v, 0, "on");
	assert_int_equal(render_vars_set(v, "a_1", "str", 0), 0);
	check_render("{{a_1}}", RENDER_TEXT, v, 0, "str");

	render_vars_free(NULL);
}

static void test_sensitivity_is_kept(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = render_vars_new();

	/* Setters without flags keep those the name has; render_vars_set replaces them. */
	assert_int_equal(render_vars_set(v, "k", SECRET, RENDER_SENSITIVE), 0);
	assert_int_equal(render_vars_list_add(v, "k", SECRET), 0);
	check_render("{{k}}", RENDER_TEXT, v, RENDER_REDACT, "(redacted)");
	assert_int_equal(render_vars_set(v, "k", "public", 0), 0);
	check_render("{{k}}", RENDER_TEXT, v, RENDER_REDACT, "public");
}

static void test_substitution(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = fixture();

	check_render("", RENDER_TEXT, v, 0, "");
	check_render("no tags\n", RENDER_TEXT, v, 0, "no tags\n");
	check_render("port {{port}}\nhost {{ host }}\n{{\tport\t}}", RENDER_TEXT, v, 0,
		     "port 6379\nhost db.example.com\n6379");
	check_render("{{host}}:{{port}}{{port}}", RENDER_TEXT, v, 0, "db.example.com:63796379");
	check_render("{ port } }} {x} }{", RENDER_TEXT, v, 0, "{ port } }} {x} }{");
	check_render("{{port}}}", RENDER_TEXT, v, 0, "6379}");
	check_render("a{{empty}}b", RENDER_TEXT, v, 0, "ab");
	check_render("{{! a comment }}x{{!}}", RENDER_TEXT, v, 0, "x");
	check_render("{{ port | text }}", RENDER_TEXT, v, 0, "6379");
	/* A NULL vars is an empty set. */
	check_render("plain", RENDER_TEXT, NULL, 0, "plain");
}

static void test_length_and_name(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = fixture();
	static const char tmpl[] = "{{port}}\0x{{port}}";
	_cleanup_free_ char *out = NULL, *cause = NULL;
	size_t n = 0;

	/* Only len bytes are read; NUL bytes are text. */
	assert_int_equal(render_template(tmpl, 8, "a", RENDER_TEXT, v, 0, &out, &n, NULL), 0);
	assert_int_equal(n, 4);
	assert_string_equal(out, "6379");
	free(out);
	out = NULL;
	assert_int_equal(render_template(tmpl, sizeof(tmpl) - 1, "a", RENDER_TEXT, v, 0, &out, &n, NULL), 0);
	assert_int_equal(n, 10);
	assert_memory_equal(out, "6379\0x6379", 11);
	free(out);
	out = NULL;
	assert_int_equal(render_template(NULL, 0, "a", RENDER_TEXT, v, 0, &out, NULL, NULL), 0);
	assert_string_equal(out, "");
	free(out);
	out = NULL;

	/* A cut in the middle of a tag leaves it unterminated. */
	assert_int_equal(render_template(tmpl, 7, "cut.conf", RENDER_TEXT, v, 0, &out, &n, &cause), -EINVAL);
	assert_null(out);
	assert_string_equal(cause, "cut.conf:1: unterminated tag");

	assert_int_equal(render_template("x", 1, "a", (enum render_escape)42, v, 0, &out, &n, NULL), -EINVAL);
	assert_null(out);
}

static void test_text(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = fixture();

	check_escape("tab\there", RENDER_TEXT, "tab\there");
	check_escape("caf\xc3\xa9 \xff \x80", RENDER_TEXT, "caf\xc3\xa9 \xff \x80");
	check_escape("\"quotes\" and \\ and $x `y`", RENDER_TEXT, "\"quotes\" and \\ and $x `y`");
	check_escape("", RENDER_TEXT, "");
	check_refused("two\nlines", RENDER_TEXT);
	check_refused("cr\r", RENDER_TEXT);
	check_refused("\x01", RENDER_TEXT);
	check_refused("\x1f", RENDER_TEXT);
	check_refused("del\x7f", RENDER_TEXT);
	check_refused("esc\x1b[0m", RENDER_TEXT);

	assert_int_equal(render_vars_set(v, "bad", "x\ny", 0), 0);
	check_error("line one\nval {{bad}}\n", RENDER_TEXT, v, 0,
		    "t.conf:2: value of 'bad' cannot be written safely as text");
}

struct escape_case {
	const char *in;
	const char *out;
};

static const struct escape_case redis_cases[] = {
	{ "foobared", "foobared" },
	{ "/var/lib/redis", "/var/lib/redis" },
	{ "a.b_c:d/e@f*g+h-i", "a.b_c:d/e@f*g+h-i" },
	{ "", "\"\"" },
	{ "two words", "\"two words\"" },
	{ " ", "\" \"" },
	{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
	{ "back\\slash", "\"back\\\\slash\"" },
	{ "new\nline", "\"new\\x0aline\"" },
	{ "tab\there", "\"tab\\x09here\"" },
	{ "cr\r", "\"cr\\x0d\"" },
	{ "\xff", "\"\\xff\"" },
	{ "caf\xc3\xa9", "\"caf\\xc3\\xa9\"" },
	{ "\x7f\x01", "\"\\x7f\\x01\"" },
	{ "it's", "\"it's\"" },
	{ "#comment", "\"#comment\"" },
	{ "a=b,c;d", "\"a=b,c;d\"" },
	{ "{x}", "\"{x}\"" },
	{ "\\x41", "\"\\\\x41\"" },
	{ "~$%", "\"~$%\"" },
};

static void test_redis(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = render_vars_new();

	for (size_t i = 0; i < ELEMENTSOF(redis_cases); i++)
		check_escape(redis_cases[i].in, RENDER_REDIS, redis_cases[i].out);

	assert_int_equal(render_vars_set(v, "pass", "p\"a s\\s", 0), 0);
	assert_int_equal(render_vars_set(v, "dir", "/var/lib/redis", 0), 0);
	check_render("requirepass {{pass}}\ndir {{dir}}\n", RENDER_REDIS, v, 0,
		     "requirepass \"p\\\"a s\\\\s\"\ndir /var/lib/redis\n");
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool redis_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Reads one double-quoted argument as redis.conf's parser does; -1 on a syntax error. */
static int redis_read_quoted(const char *s, struct buf *b)
{
	for (s++; *s != '"'; s++) {
		char c = *s;

		if (!c)
			return -1;
		if (c == '\\' && s[1] == 'x' && hex_value(s[2]) >= 0 && hex_value(s[3]) >= 0) {
			c = (char)(hex_value(s[2]) * 16 + hex_value(s[3]));
			s += 3;
		} else if (c == '\\' && s[1]) {
			static const char from[] = "nrtba", to[] = "\n\r\t\b\a";
			const char *m = strchr(from, *++s);

			c = m ? to[m - from] : *s;
		}
		assert_int_equal(buf_putc(b, c), 0);
	}
	return s[1] == '\0' || redis_space(s[1]) ? 0 : -1;
}

/* Reads one argument as redis.conf's parser does. Returns the bytes read, or NULL. */
static char *redis_read(const char *s)
{
	_cleanup_buf_ struct buf b = BUF_INIT;

	if (*s == '"') {
		if (redis_read_quoted(s, &b) < 0)
			return NULL;
	} else {
		for (; *s && !redis_space(*s); s++) {
			if (*s == '"' || *s == '\'')
				return NULL;
			assert_int_equal(buf_putc(&b, *s), 0);
		}
		if (b.len == 0)
			return NULL;
	}
	return buf_steal(&b, NULL);
}

static void check_redis_round_trip(const char *value)
{
	_cleanup_free_ char *escaped = render_escape_value(value, RENDER_REDIS);
	_cleanup_free_ char *back = NULL;

	assert_non_null(escaped);
	for (const char *p = escaped; *p; p++)
		assert_true(*p >= 0x20 && *p <= 0x7e);
	back = redis_read(escaped);
	assert_non_null(back);
	assert_string_equal(back, value);
}

static void test_redis_round_trip(void **state)
{
	static const char *const values[] = {
		"", "\"", "\\", "\\\"", "\"\\", "a\"", "\\x", "\\x4", "\\xzz", "x\\", " lead", "trail ",
		"\t\n\r\v\f", "\"\"\"", "'", "''", "' '", "\xff\xfe", "p@ss w0rd!#;",
	};
	char one[2] = { 0 }, two[3] = { 0 };

	for (size_t i = 0; i < ELEMENTSOF(values); i++)
		check_redis_round_trip(values[i]);
	for (int c = 1; c < 256; c++) {
		one[0] = (char)c;
		check_redis_round_trip(one);
		for (int d = 1; d < 256; d += 7) {
			two[0] = (char)c;
			two[1] = (char)d;
			check_redis_round_trip(two);
		}
	}
}


static void test_stunnel(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = fixture();
	static const char *const refused[] = {
		"", " ", "a b", "a,b", "a;b", "#x", "x\n", "\"x\"", "'x'", "a=b", "~", "\xff", "a\tb",
		"$x", "[::1]",
	};

	check_escape("127.0.0.1:6379", RENDER_STUNNEL, "127.0.0.1:6379");
	check_escape("/etc/stunnel/redis.pem", RENDER_STUNNEL, "/etc/stunnel/redis.pem");
	check_escape("a.b_c:d/e@f*g+h-i", RENDER_STUNNEL, "a.b_c:d/e@f*g+h-i");
	for (size_t i = 0; i < ELEMENTSOF(refused); i++)
		check_refused(refused[i], RENDER_STUNNEL);

	check_render("[redis]\nconnect = {{host}}:{{port}}\n", RENDER_STUNNEL, v, 0,
		     "[redis]\nconnect = db.example.com:6379\n");
	check_error("[redis]\naccept = {{spaced}}\n", RENDER_STUNNEL, v, 0,
		    "t.conf:2: value of 'spaced' cannot be written safely as stunnel");
	check_error("\n\n\naccept = {{empty}}\n", RENDER_STUNNEL, v, 0,
		    "t.conf:4: value of 'empty' cannot be written safely as stunnel");
	/* Nothing is written from a branch not taken, so nothing there is refused. */
	check_render("{{#if no}}{{spaced}}{{/if}}", RENDER_STUNNEL, v, 0, "");
}

static void test_nft(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = fixture();
	static const char *const refused[] = {
		"", " ", "@set", "*", "a+b", "{", "}", ";", "a,b", "#", "x\n", "$x", "\"", "a b", "\xff",
	};

	check_escape("10.0.0.0/8", RENDER_NFT, "10.0.0.0/8");
	check_escape("2001:db8::/32", RENDER_NFT, "2001:db8::/32");
	check_escape("eth0", RENDER_NFT, "eth0");
	check_escape("a-b_c.d", RENDER_NFT, "a-b_c.d");
	for (size_t i = 0; i < ELEMENTSOF(refused); i++)
		check_refused(refused[i], RENDER_NFT);

	check_render("tcp dport { {{ports}} } accept\n", RENDER_NFT, v, 0,
		     "tcp dport { 80, 443, 8080 } accept\n");
	assert_int_equal(render_vars_set(v, "src", "10.0.0.0/8 @evil", 0), 0);
	check_error("table inet x {\n\tip saddr {{src}} accept\n}\n", RENDER_NFT, v, 0,
		    "t.conf:2: value of 'src' cannot be written safely as nft");
}

static void test_url_filter(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = render_vars_new();

	assert_int_equal(render_vars_set(v, "a", "a b/c?d=e&f~_.-Z9", 0), 0);
	assert_int_equal(render_vars_set(v, "b", "p@ss:w0rd%+", 0), 0);
	assert_int_equal(render_vars_set(v, "c", "\xff\xc3\xa9\n\"'", 0), 0);
	assert_int_equal(render_vars_set(v, "e", "", 0), 0);
	check_render("{{a|url}}\n{{ b | url }}\n{{c|url}}\n[{{e|url}}]\n", RENDER_TEXT, v, 0,
		     "a%20b%2Fc%3Fd%3De%26f~_.-Z9\np%40ss%3Aw0rd%25%2B\n%FF%C3%A9%0A%22%27\n[]\n");
	/* The filter replaces the file type's escaper, which would refuse these. */
	check_render("{{a|url}}", RENDER_NFT, v, 0, "a%20b%2Fc%3Fd%3De%26f~_.-Z9");
	check_render("{{e|url}}", RENDER_STUNNEL, v, 0, "");
}

static void test_shell_filter(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = render_vars_new();

	assert_int_equal(render_vars_set(v, "a", "it's", 0), 0);
	assert_int_equal(render_vars_set(v, "b", "$(rm -rf /); `x` \"y\" \\ *", 0), 0);
	assert_int_equal(render_vars_set(v, "c", "''", 0), 0);
	assert_int_equal(render_vars_set(v, "d", "two\nlines", 0), 0);
	assert_int_equal(render_vars_set(v, "e", "", 0), 0);
	check_render("x={{a|shell}}\ny={{b|shell}}\nz={{c|shell}}\nw={{e|shell}}\n", RENDER_TEXT, v, 0,
		     "x='it'\\''s'\ny='$(rm -rf /); `x` \"y\" \\ *'\nz=''\\'''\\'''\nw=''\n");
	check_render("{{d|shell}}", RENDER_TEXT, v, 0, "'two\nlines'");
	check_render("{{a|shell}}", RENDER_STUNNEL, v, 0, "'it'\\''s'");
}

static void test_other_filters(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = fixture();

	check_render("{{spaced|redis}} {{port|redis}}", RENDER_TEXT, v, 0, "\"a b\" 6379");
	check_render("{{spaced|text}}", RENDER_NFT, v, 0, "a b");
	check_render("{{spaced|text}}", RENDER_REDIS, v, 0, "a b");
	check_render("{{spaced}}", RENDER_REDIS, v, 0, "\"a b\"");
	/* Lists keep the file type's separator. */
	check_render("{{ports|redis}}", RENDER_STUNNEL, v, 0, "80, 443, 8080");
	check_render("{{ports|text}}", RENDER_NFT, v, 0, "80, 443, 8080");
}

static void test_lists(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = fixture();

	check_render("{{ports}}", RENDER_TEXT, v, 0, "80 443 8080");
	check_render("{{ports}}", RENDER_REDIS, v, 0, "80 443 8080");
	check_render("{{ports}}", RENDER_STUNNEL, v, 0, "80, 443, 8080");
	check_render("{{ports}}", RENDER_NFT, v, 0, "80, 443, 8080");
	check_render("[{{nolist}}]", RENDER_TEXT, v, 0, "[]");
	check_render("[{{nolist}}]", RENDER_REDIS, v, 0, "[]");
	check_render("[{{nolist}}]", RENDER_STUNNEL, v, 0, "[]");
	check_render("[{{nolist}}]", RENDER_NFT, v, 0, "[]");

	assert_int_equal(render_vars_list_add(v, "one", "x"), 0);
	check_render("[{{one}}]", RENDER_NFT, v, 0, "[x]");

	/* Each item is escaped by itself. */
	assert_int_equal(render_vars_list_add(v, "binds", "127.0.0.1"), 0);
	assert_int_equal(render_vars_list_add(v, "binds", "::1"), 0);
	assert_int_equal(render_vars_list_add(v, "binds", "a b"), 0);
	assert_int_equal(render_vars_list_add(v, "binds", ""), 0);
	assert_int_equal(render_vars_list_add(v, "binds", "q\"\n"), 0);
	check_render("bind {{binds}}\n", RENDER_REDIS, v, 0,
		     "bind 127.0.0.1 ::1 \"a b\" \"\" \"q\\\"\\x0a\"\n");
	check_error("x\nbind {{binds}}\n", RENDER_NFT, v, 0,
		    "t.conf:2: value of 'binds' cannot be written safely as nft");
	check_error("x\nbind {{binds}}\n", RENDER_TEXT, v, 0,
		    "t.conf:2: value of 'binds' cannot be written safely as text");
}

static void test_if(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = fixture();
	static const struct {
		const char *name;
		const char *out;
	} truth[] = {
		{ "yes", "Y" },   { "no", "N" },	  { "port", "Y" }, { "empty", "N" },
		{ "ports", "Y" }, { "nolist", "N" }, { "password", "Y" },
	};

	for (size_t i = 0; i < ELEMENTSOF(truth); i++) {
		_cleanup_free_ char *out = NULL;
		char tmpl[64];

		snprintf(tmpl, sizeof(tmpl), "{{#if %s}}Y{{else}}N{{/if}}", truth[i].name);
		out = render_ok(tmpl, RENDER_TEXT, v, RENDER_REDACT);
		assert_string_equal(out, truth[i].out);
	}
	check_render("{{#if no}}Y{{/if}}", RENDER_TEXT, v, 0, "");
	check_render("{{#if yes}}Y{{/if}}", RENDER_TEXT, v, 0, "Y");
	check_render("{{ #if   yes }}Y{{ else }}N{{ /if }}", RENDER_TEXT, v, 0, "Y");
	check_render("{{#if\tno}}Y{{else}}N{{/if}}", RENDER_TEXT, v, 0, "N");
	check_render("{{#if no}}{{#if yes}}x{{else}}y{{/if}}{{else}}z{{/if}}", RENDER_TEXT, v, 0, "z");
	check_render("{{#if yes}}{{#if no}}x{{else}}y{{/if}}{{else}}z{{/if}}", RENDER_TEXT, v, 0, "y");
	check_render("{{#if no}}{{#if no}}x{{else}}y{{/if}}{{/if}}", RENDER_TEXT, v, 0, "");
	check_render("{{#if no}}a{{else}}{{#if no}}x{{else}}y{{/if}}{{/if}}", RENDER_TEXT, v, 0, "y");
	check_render("{{#if yes}}\n"
		     "a\n"
		     "{{#if no}}\n"
		     "b\n"
		     "{{else}}\n"
		     "c\n"
		     "  {{#if port}}\n"
		     "d {{port}}\n"
		     "  {{/if}}\n"
		     "{{/if}}\n"
		     "e\n"
		     "{{else}}\n"
		     "f\n"
		     "{{/if}}\n"
		     "g\n",
		     RENDER_TEXT, v, 0, "a\nc\nd 6379\ne\ng\n");
}

static void nested(char *buf, size_t size, int depth)
{
	size_t n = 0;

	for (int i = 0; i < depth; i++)
		n += snprintf(buf + n, size - n, "{{#if yes}}\n");
	n += snprintf(buf + n, size - n, "deep\n");
	for (int i = 0; i < depth; i++)
		n += snprintf(buf + n, size - n, "{{/if}}\n");
	assert_true(n < size);
}

static void test_depth(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = fixture();
	char tmpl[1024];

	nested(tmpl, sizeof(tmpl), 16);
	check_render(tmpl, RENDER_TEXT, v, 0, "deep\n");
	nested(tmpl, sizeof(tmpl), 17);
	check_error(tmpl, RENDER_TEXT, v, 0, "t.conf:17: '{{#if}}' nested deeper than 16");
}

static void test_standalone(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = fixture();

	check_render("a\n  {{#if yes}}  \nb\n\t{{/if}}\nc\n", RENDER_TEXT, v, 0, "a\nb\nc\n");
	check_render("a\n{{#if no}}\nb\n{{else}}\nc\n{{/if}}\nd\n", RENDER_TEXT, v, 0, "a\nc\nd\n");
	check_render("{{! comment }}\nx\n  {{!another}}  \n", RENDER_TEXT, v, 0, "x\n");
	check_render("{{#if yes}}\nx\n{{/if}}", RENDER_TEXT, v, 0, "x\n");
	check_render("x\n{{! no newline at the end }}", RENDER_TEXT, v, 0, "x\n");
	check_render("\n\n{{#if yes}}\n\n{{/if}}\n\n", RENDER_TEXT, v, 0, "\n\n\n\n");
	/* Inline tags leave the text around them alone. */
	check_render("a {{#if yes}}b{{/if}} c\n", RENDER_TEXT, v, 0, "a b c\n");
	check_render("a {{#if no}}b{{/if}} c\n", RENDER_TEXT, v, 0, "a  c\n");
	check_render("a{{! note }}\n", RENDER_TEXT, v, 0, "a\n");
	check_render("{{#if yes}}x\n{{/if}}", RENDER_TEXT, v, 0, "x\n");
	check_render("{{#if no}}x\n{{/if}}y", RENDER_TEXT, v, 0, "y");
	check_render("{{#if yes}} y\n{{/if}}\n", RENDER_TEXT, v, 0, " y\n");
	check_render("{{#if yes}}{{/if}}\nz\n", RENDER_TEXT, v, 0, "\nz\n");
	check_render("{{! a }}{{! b }}\n", RENDER_TEXT, v, 0, "\n");
	/* A variable alone on its line keeps the line. */
	check_render("  {{port}}  \n{{empty}}\nz\n", RENDER_TEXT, v, 0, "  6379  \n\nz\n");
}

static void test_errors(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = fixture();
	static const struct {
		const char *tmpl;
		const char *cause;
	} cases[] = {
		{ "a\nb\n{{nope}}\n", "t.conf:3: unknown variable 'nope'" },
		{ "x {{nope|url}}", "t.conf:1: unknown variable 'nope'" },
		{ "{{#if nope}}\n{{/if}}\n", "t.conf:1: unknown variable 'nope'" },
		{ "{{#if no}}\n\n{{nope}}\n{{/if}}\n", "t.conf:3: unknown variable 'nope'" },
		{ "{{nope}}{{Bad}}", "t.conf:1: unknown variable 'nope'" },
		{ "x\n{{port|upper}}", "t.conf:2: unknown filter 'upper'" },
		{ "{{port|nft}}", "t.conf:1: unknown filter 'nft'" },
		{ "{{port|}}", "t.conf:1: invalid filter name" },
		{ "{{port|url|shell}}", "t.conf:1: invalid filter name" },
		{ "{{port|URL}}", "t.conf:1: invalid filter name" },
		{ "ok\n{{port\n}}\n", "t.conf:2: unterminated tag" },
		{ "{{port}", "t.conf:1: unterminated tag" },
		{ "\n{{", "t.conf:2: unterminated tag" },
		{ "{{port}} {{", "t.conf:1: unterminated tag" },
		{ "  {{#if yes\n{{/if}}", "t.conf:1: unterminated tag" },
		{ "\n\n{{else}}\n", "t.conf:3: '{{else}}' without '{{#if}}'" },
		{ "x{{else}}", "t.conf:1: '{{else}}' without '{{#if}}'" },
		{ "{{#if yes}}\n{{/if}}\n{{/if}}\n", "t.conf:3: '{{/if}}' without '{{#if}}'" },
		{ "{{/if}}", "t.conf:1: '{{/if}}' without '{{#if}}'" },
		{ "{{#if yes}}\n{{else}}\n{{else}}\n{{/if}}\n",
		  "t.conf:3: second '{{else}}' for '{{#if}}' of line 1" },
		{ "a\n{{#if yes}}\nb\n", "t.conf:2: '{{#if yes}}' is not closed" },
		{ "{{#if yes}}\n{{#if no}}\n{{/if}}\n", "t.conf:1: '{{#if yes}}' is not closed" },
		{ "{{#if yes}}\n\n{{#if no}}\n", "t.conf:3: '{{#if no}}' is not closed" },
		{ "x {{#if yes}} y", "t.conf:1: '{{#if yes}}' is not closed" },
		{ "{{}}", "t.conf:1: empty tag" },
		{ "x\n{{  }}\n", "t.conf:2: empty tag" },
		{ "{{Port}}", "t.conf:1: invalid variable name" },
		{ "{{po rt}}", "t.conf:1: invalid variable name" },
		{ "{{|url}}", "t.conf:1: invalid variable name" },
		{ "{{port-1}}", "t.conf:1: invalid variable name" },
		{ "{{{port}}}", "t.conf:1: invalid variable name" },
		{ "{{#for ports}}\n{{/for}}\n", "t.conf:1: unknown block tag" },
		{ "{{#iffy}}", "t.conf:1: unknown block tag" },
		{ "{{#if}}", "t.conf:1: '{{#if}}' needs a variable name" },
		{ "{{#if  }}", "t.conf:1: '{{#if}}' needs a variable name" },
		{ "{{#if Yes}}", "t.conf:1: invalid variable name in '{{#if}}'" },
		{ "{{#if yes no}}", "t.conf:1: invalid variable name in '{{#if}}'" },
		{ "{{#if yes}}\n{{/for}}", "t.conf:2: unknown closing tag" },
		{ "{{#if yes}}\n{{/if yes}}", "t.conf:2: unknown closing tag" },
		{ "\n{{yes}}", "t.conf:2: variable 'yes' is a bool: use it in '{{#if}}'" },
		{ "{{ports|url}}", "t.conf:1: variable 'ports' is a list: the url filter takes one value" },
		{ "\n\n{{#if no}}{{ports|shell}}{{/if}}",
		  "t.conf:3: variable 'ports' is a list: the shell filter takes one value" },
		{ "{{nolist|url}}", "t.conf:1: variable 'nolist' is a list: the url filter takes one value" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		check_error(cases[i].tmpl, RENDER_TEXT, v, 0, cases[i].cause);
	}
}

static void test_redact(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = fixture();
	_cleanup_free_ char *out = NULL;

	check_render("requirepass {{password}}\nport {{port}}\n", RENDER_REDIS, v, 0,
		     "requirepass " SECRET "\nport 6379\n");
	out = render_ok("requirepass {{password}}\nport {{port}}\n", RENDER_REDIS, v, RENDER_REDACT);
	assert_string_equal(out, "requirepass \"(redacted)\"\nport 6379\n");
	assert_null(strstr(out, SECRET));

	check_render("{{password}}", RENDER_TEXT, v, RENDER_REDACT, "(redacted)");
	check_render("{{password|url}}", RENDER_TEXT, v, RENDER_REDACT, "%28redacted%29");
	check_render("{{password|shell}}", RENDER_TEXT, v, RENDER_REDACT, "'(redacted)'");
	check_render("{{password|redis}}", RENDER_NFT, v, RENDER_REDACT, "\"(redacted)\"");
	check_render("{{#if password}}set{{/if}}", RENDER_TEXT, v, RENDER_REDACT, "set");

	/* A sensitive list is one "(redacted)", whatever its length. */
	assert_int_equal(render_vars_set(v, "keys", "", RENDER_SENSITIVE), 0);
	assert_int_equal(render_vars_list_add(v, "keys", SECRET), 0);
	assert_int_equal(render_vars_list_add(v, "keys", "other"), 0);
	check_render("{{keys}}", RENDER_TEXT, v, 0, SECRET " other");
	check_render("{{keys}}", RENDER_REDIS, v, RENDER_REDACT, "\"(redacted)\"");
	check_render("{{keys}} {{ports}}", RENDER_TEXT, v, RENDER_REDACT, "(redacted) 80 443 8080");

	/* "(redacted)" goes through the escaper too, and stunnel and nft refuse it. */
	check_error("\nkey = {{password}}\n", RENDER_STUNNEL, v, RENDER_REDACT,
		    "t.conf:2: 'password' is redacted and '(redacted)' cannot be written as stunnel");
	check_error("{{password}}", RENDER_NFT, v, RENDER_REDACT,
		    "t.conf:1: 'password' is redacted and '(redacted)' cannot be written as nft");
}

static void test_secret_not_in_errors(void **state)
{
	_cleanup_render_vars_ struct render_vars *v = render_vars_new();

	assert_int_equal(render_vars_set(v, "pw", SECRET "\n", RENDER_SENSITIVE), 0);
	assert_int_equal(render_vars_set(v, "pw2", SECRET " x", RENDER_SENSITIVE), 0);
	assert_int_equal(render_vars_set(v, "pw3", SECRET, 0), 0);
	assert_int_equal(render_vars_set(v, "pw3", SECRET "\x7f", RENDER_SENSITIVE), 0);
	/* check_error also checks that the message does not hold SECRET. */
	check_error("a\n{{pw}}\n", RENDER_TEXT, v, 0,
		    "t.conf:2: value of 'pw' cannot be written safely as text");
	check_error("{{pw2}}", RENDER_STUNNEL, v, 0,
		    "t.conf:1: value of 'pw2' cannot be written safely as stunnel");
	check_error("{{pw2}}", RENDER_NFT, v, 0,
		    "t.conf:1: value of 'pw2' cannot be written safely as nft");
	check_error("{{pw3}}", RENDER_TEXT, v, 0,
		    "t.conf:1: value of 'pw3' cannot be written safely as text");
	check_error("{{pw|nope}}", RENDER_TEXT, v, 0, "t.conf:1: unknown filter 'nope'");
	/* Redacted, the value is not even looked at. */
	check_render("{{pw}}", RENDER_TEXT, v, RENDER_REDACT, "(redacted)");
}

static void test_escape_value(void **state)
{
	check_escape("plain", RENDER_TEXT, "plain");
	check_escape("a b", RENDER_REDIS, "\"a b\"");
	errno = 0;
	assert_null(render_escape_value(NULL, RENDER_TEXT));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(render_escape_value("x", (enum render_escape)99));
	assert_int_equal(errno, EINVAL);
}

static void test_each(void **state)
{
	_cleanup_(render_vars_freep) struct render_vars *v = fixture();

	check_render("a\n{{#each ports}}\naccept = {{.}}:{{port}}\n{{/each}}\nz\n", RENDER_STUNNEL, v, 0,
		     "a\naccept = 80:6379\naccept = 443:6379\naccept = 8080:6379\nz\n");
	/* An empty list renders nothing, but its body is still checked. */
	check_render("a\n  {{#each nolist}}  \nx {{.}}\n{{/each}}\nz\n", RENDER_TEXT, v, 0, "a\nz\n");
	check_error("a\n{{#each nolist}}\n{{nope}}\n{{/each}}\n", RENDER_TEXT, v, 0,
		    "t.conf:3: unknown variable 'nope'");
	/* Inside a false if, nothing renders either. */
	check_render("{{#if no}}\n{{#each ports}}\n{{.}}\n{{/each}}\n{{/if}}\nend\n", RENDER_TEXT, v, 0, "end\n");
	/* Blocks inside the body, and line numbers after it. */
	check_render("{{#each ports}}\n{{#if yes}}\n[{{.}}]\n{{/if}}\n{{/each}}\n", RENDER_TEXT, v, 0,
		     "[80]\n[443]\n[8080]\n");
	check_error("{{#each ports}}\n{{.}}\n{{/each}}\nx\n{{bad}}\n", RENDER_TEXT, v, 0,
		    "t.conf:5: unknown variable 'bad'");
	/* Items are escaped like any value. */
	assert_int_equal(render_vars_list_add(v, "words", "a b"), 0);
	check_render("{{#each words}}\nv {{.}}\n{{/each}}\n", RENDER_REDIS, v, 0, "v \"a b\"\n");
	check_error("{{#each words}}\nv {{.}}\n{{/each}}\n", RENDER_NFT, v, 0,
		    "t.conf:2: value of 'words' cannot be written safely as nft");
	check_error("{{#each ports}}\n{{.}}\n", RENDER_TEXT, v, 0, "t.conf:1: '{{#each ports}}' is not closed");
	check_error("x\n{{/each}}\n", RENDER_TEXT, v, 0, "t.conf:2: '{{/each}}' without '{{#each}}'");
	check_error("{{.}}\n", RENDER_TEXT, v, 0, "t.conf:1: '{{.}}' outside '{{#each}}'");
	check_error("{{#each port}}\n{{/each}}\n", RENDER_TEXT, v, 0,
		    "t.conf:1: '{{#each}}' needs a list; 'port' is not one");
	check_error("x {{#each ports}} y\n", RENDER_TEXT, v, 0,
		    "t.conf:1: '{{#each}}' and '{{/each}}' must stand alone on their lines");
	check_error("{{#each ports}}\n{{#each ports}}\n{{/each}}\n{{/each}}\n", RENDER_TEXT, v, 0,
		    "t.conf:2: '{{#each}}' inside '{{#each}}'");
	check_error("{{#each ports}}\n{{#if yes}}\n{{/each}}\n", RENDER_TEXT, v, 0,
		    "t.conf:2: '{{#if}}' is not closed inside '{{#each}}'");
	/* The body cannot close or switch an {{#if}} opened outside it (found by fuzz-render). */
	check_error("{{#if yes}}\n{{#each ports}}\n{{/if}}\n{{/each}}\n{{/if}}\n", RENDER_TEXT, v, 0,
		    "t.conf:3: '{{/if}}' without '{{#if}}' inside '{{#each}}'");
	check_error("{{#if no}}\n{{#each ports}}\n{{/if}}\n{{/each}}\n{{/if}}\n", RENDER_TEXT, v, 0,
		    "t.conf:3: '{{/if}}' without '{{#if}}' inside '{{#each}}'");
	check_error("{{#if yes}}\n{{#each ports}}\n{{else}}\n{{/each}}\n{{/if}}\n", RENDER_TEXT, v, 0,
		    "t.conf:3: '{{else}}' without '{{#if}}' inside '{{#each}}'");
	check_render("{{#if yes}}\n{{#each ports}}\n{{#if no}}\n-\n{{else}}\n{{.}}\n{{/if}}\n{{/each}}\n{{/if}}\n",
		     RENDER_TEXT, v, 0, "80\n443\n8080\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vars),
		cmocka_unit_test(test_sensitivity_is_kept),
		cmocka_unit_test(test_substitution),
		cmocka_unit_test(test_length_and_name),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_redis),
		cmocka_unit_test(test_redis_round_trip),
		cmocka_unit_test(test_stunnel),
		cmocka_unit_test(test_nft),
		cmocka_unit_test(test_url_filter),
		cmocka_unit_test(test_shell_filter),
		cmocka_unit_test(test_other_filters),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_if),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_standalone),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_secret_not_in_errors),
		cmocka_unit_test(test_escape_value),
		cmocka_unit_test(test_each),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
