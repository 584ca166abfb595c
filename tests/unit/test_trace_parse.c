/*
 * Unit tests of the trace front end (lexer, parser, AST dump, diagnostics):
 * tree shapes for precedence and associativity, every statement kind,
 * attach point tokenization, literals, and exact error messages with their
 * caret lines.
 */
#include <stdlib.h>
#include "ast.h"
#include "sema_base.h"
#include "unit.h"

/* Parses text; returns the tree and puts any diagnostics in *errs. */
static struct ast_node *parse(const char *text, char **errs)
{
	struct src_file src = { "-e", text, strlen(text) };
	size_t size = 0;
	FILE *f = open_memstream(errs, &size);
	struct ast_node *n = ast_parse(&src, f);

	fclose(f);
	return n;
}

/* The diagnostics of a program that must not parse. */
static char *parse_error(const char *text)
{
	char *errs = NULL;
	struct ast_node *n = parse(text, &errs);

	if (n) {
		ast_free(n);
		free(errs);
		return strdup("(parsed)");
	}
	return errs;
}

static char *dump(const char *text)
{
	char *errs = NULL, *out = NULL;
	size_t size = 0;
	struct ast_node *n = parse(text, &errs);
	FILE *f;

	if (!n)
		return errs;
	free(errs);
	f = open_memstream(&out, &size);
	ast_dump(f, n);
	fclose(f);
	ast_free(n);
	return out;
}

/* A compact S-expression of an expression tree, for shape checks. */
static void shape(FILE *f, const struct ast_node *n)
{
	char op[8];

	if (!n) {
		fputs("NULL", f);
		return;
	}
	if (n->kind == AST_BINOP || n->kind == AST_UNOP ||
	    n->kind == AST_INCDEC || n->kind == AST_FIELD ||
	    n->kind == AST_ASSIGN) {
		/* "'+'" -> "+" */
		snprintf(op, sizeof(op), "%s", ast_tok_name(n->op) + 1);
		op[strlen(op) - 1] = '\0';
	}
	switch (n->kind) {
	case AST_INT:
		if (n->is_signed)
			fprintf(f, "%lld", n->ival);
		else
			fprintf(f, "%lluu", (unsigned long long)n->ival);
		break;
	case AST_STR:
		fprintf(f, "\"%s\"", n->str);
		break;
	case AST_IDENT:
	case AST_VAR:
	case AST_POSITIONAL:
		fputs(n->name, f);
		break;
	case AST_MAP:
	case AST_CALL:
		fputs(n->name, f);
		if (n->kind == AST_MAP && !n->nlist)
			break;
		fputc(n->kind == AST_MAP ? '[' : '(', f);
		for (int i = 0; i < n->nlist; i++) {
			if (i)
				fputc(',', f);
			shape(f, n->list[i]);
		}
		fputc(n->kind == AST_MAP ? ']' : ')', f);
		break;
	case AST_UNOP:
	case AST_BINOP:
	case AST_ASSIGN:
		fprintf(f, "(%s ", op);
		shape(f, n->a);
		if (n->kind != AST_UNOP) {
			fputc(' ', f);
			shape(f, n->b);
		}
		fputc(')', f);
		break;
	case AST_INCDEC:
		fprintf(f, "(%s%s ", op, n->ival ? "pre" : "post");
		shape(f, n->a);
		fputc(')', f);
		break;
	case AST_TERNARY:
		fputs("(? ", f);
		shape(f, n->a);
		fputc(' ', f);
		shape(f, n->b);
		fputc(' ', f);
		shape(f, n->c);
		fputc(')', f);
		break;
	case AST_FIELD:
		fprintf(f, "(%s ", op);
		shape(f, n->a);
		fprintf(f, " %s)", n->name);
		break;
	case AST_INDEX:
		fputs("([] ", f);
		shape(f, n->a);
		fputc(' ', f);
		shape(f, n->b);
		fputc(')', f);
		break;
	case AST_CAST:
		fprintf(f, "(cast<%s> ", n->type_name);
		shape(f, n->a);
		fputc(')', f);
		break;
	case AST_TUPLE:
		fputs("(tuple", f);
		for (int i = 0; i < n->nlist; i++) {
			fputc(' ', f);
			shape(f, n->list[i]);
		}
		fputc(')', f);
		break;
	case AST_EXPR_STMT:
		shape(f, n->a);
		break;
	default:
		fputs("?", f);
	}
}

/* Shape of the first statement of "BEGIN { stmt }", or the error. */
static char *stmt_shape(const char *stmt)
{
	char text[512], *errs = NULL, *out = NULL;
	size_t size = 0;
	struct ast_node *n;
	FILE *f;

	snprintf(text, sizeof(text), "BEGIN { %s }", stmt);
	n = parse(text, &errs);
	if (!n)
		return errs;
	free(errs);
	f = open_memstream(&out, &size);
	shape(f, n->list[0]->b->list[0]);
	fclose(f);
	ast_free(n);
	return out;
}

#define CHECK_SHAPE(stmt, want) do { \
	char *s_ = stmt_shape(stmt); \
	CHECK_STR(s_, want); \
	free(s_); \
} while (0)

#define CHECK_ERROR(text, want) do { \
	char *e_ = parse_error(text); \
	CHECK_STR(e_, want); \
	free(e_); \
} while (0)

static void test_precedence(void)
{
	CHECK_SHAPE("1 + 2 * 3", "(+ 1 (* 2 3))");
	CHECK_SHAPE("1 * 2 + 3", "(+ (* 1 2) 3)");
	CHECK_SHAPE("1 - 2 - 3", "(- (- 1 2) 3)");
	CHECK_SHAPE("8 / 4 / 2 % 3", "(% (/ (/ 8 4) 2) 3)");
	CHECK_SHAPE("1 << 2 + 3", "(<< 1 (+ 2 3))");
	CHECK_SHAPE("1 < 2 == 3 > 4", "(== (< 1 2) (> 3 4))");
	CHECK_SHAPE("1 <= 2 >> 1", "(<= 1 (>> 2 1))");
	CHECK_SHAPE("1 | 2 ^ 3 & 4", "(| 1 (^ 2 (& 3 4)))");
	CHECK_SHAPE("1 & 2 == 2", "(& 1 (== 2 2))");
	CHECK_SHAPE("1 || 2 && 3 | 4", "(|| 1 (&& 2 (| 3 4)))");
	CHECK_SHAPE("1 && 2 || 3 && 4", "(|| (&& 1 2) (&& 3 4))");
	CHECK_SHAPE("1 ? 2 : 3 ? 4 : 5", "(? 1 2 (? 3 4 5))");
	CHECK_SHAPE("1 || 0 ? 2 + 1 : 3", "(? (|| 1 0) (+ 2 1) 3)");
	CHECK_SHAPE("1 ? 2 ? 3 : 4 : 5", "(? 1 (? 2 3 4) 5)");
	CHECK_SHAPE("-1 - -2", "(- (- 1) (- 2))");
	CHECK_SHAPE("!~1 != 0", "(!= (! (~ 1)) 0)");
	CHECK_SHAPE("*&$x + 1", "(+ (* (& $x)) 1)");
	CHECK_SHAPE("(1 + 2) * 3", "(* (+ 1 2) 3)");
	CHECK_SHAPE("-args->x.y[2]", "(- ([] (. (-> args x) y) 2))");
	CHECK_SHAPE("@x[1] + $y++ * ++@z", "(+ @x[1] (* (++post $y) "
		    "(++pre @z)))");
	CHECK_SHAPE("f(1, g(2) + 3)", "f(1,(+ g(2) 3))");
	CHECK_SHAPE("$t.0 + $t.1", "(+ (. $t 0) (. $t 1))");
	CHECK_SHAPE("args.if", "(. args if)");
}

static void test_casts_and_tuples(void)
{
	CHECK_SHAPE("(uint32)1", "(cast<uint32> 1)");
	CHECK_SHAPE("(int8)$x + 1", "(+ (cast<int8> $x) 1)");
	CHECK_SHAPE("(struct task_struct *)curtask->pid",
		    "(cast<struct task_struct *> (-> curtask pid))");
	CHECK_SHAPE("((struct sock *)arg0)->__sk_common",
		    "(-> (cast<struct sock *> arg0) __sk_common)");
	CHECK_SHAPE("(union u**)0", "(cast<union u **> 0)");
	CHECK_SHAPE("*(uint8 *)arg1", "(* (cast<uint8 *> arg1))");
	CHECK_SHAPE("(enum e)1", "(cast<enum e> 1)");
	CHECK_SHAPE("(uint64)-1", "(cast<uint64> (- 1))");
	/* not casts: parenthesized identifiers and expressions */
	CHECK_SHAPE("(pid)", "pid");
	CHECK_SHAPE("(uint32x) + 1", "(+ uint32x 1)");
	CHECK_SHAPE("(1)", "1");
	CHECK_SHAPE("((1))", "1");
	CHECK_SHAPE("(1, \"a\")", "(tuple 1 \"a\")");
	CHECK_SHAPE("(1, (2, 3), comm)", "(tuple 1 (tuple 2 3) comm)");
	CHECK_SHAPE("@[pid, comm] = count()",
		    "(= @[pid,comm] count())");
	CHECK_SHAPE("$t = ((1, 2))", "(= $t (tuple 1 2))");
}

static void test_statements(void)
{
	char *d = dump("BEGIN {\n"
		       "\t$x = 1; $x += 2; @m[1, \"a\"] <<= 3;\n"
		       "\tif ($x > 1) { @a++ } else if ($x) { @b-- }"
		       " else { --@c; }\n"
		       "\twhile ($x < 10) { $x++; if (1) { break } continue }\n"
		       "\tunroll (4) { { print(@a) } }\n"
		       "\treturn\n"
		       "}\n");

	CHECK_STR(d,
		  "1:1 program\n"
		  "  1:1 probe\n"
		  "    1:1 attach BEGIN\n"
		  "    1:7 block\n"
		  "      2:2 assign '='\n"
		  "        2:2 var $x\n"
		  "        2:7 int 1\n"
		  "      2:10 assign '+='\n"
		  "        2:10 var $x\n"
		  "        2:16 int 2\n"
		  "      2:19 assign '<<='\n"
		  "        2:19 map @m\n"
		  "          2:22 int 1\n"
		  "          2:25 str \"a\"\n"
		  "        2:34 int 3\n"
		  "      3:2 if\n"
		  "        3:9 binop '>'\n"
		  "          3:6 var $x\n"
		  "          3:11 int 1\n"
		  "        3:14 block\n"
		  "          3:16 expr\n"
		  "            3:18 incdec '++' postfix\n"
		  "              3:16 map @a\n"
		  "        3:28 else: block\n"
		  "          3:28 if\n"
		  "            3:32 var $x\n"
		  "            3:36 block\n"
		  "              3:38 expr\n"
		  "                3:40 incdec '--' postfix\n"
		  "                  3:38 map @b\n"
		  "            3:50 else: block\n"
		  "              3:52 expr\n"
		  "                3:52 incdec '--' prefix\n"
		  "                  3:54 map @c\n"
		  "      4:2 while\n"
		  "        4:12 binop '<'\n"
		  "          4:9 var $x\n"
		  "          4:14 int 10\n"
		  "        4:18 block\n"
		  "          4:20 expr\n"
		  "            4:22 incdec '++' postfix\n"
		  "              4:20 var $x\n"
		  "          4:26 if\n"
		  "            4:30 int 1\n"
		  "            4:33 block\n"
		  "              4:35 break\n"
		  "          4:43 continue\n"
		  "      5:2 unroll 4\n"
		  "        5:13 block\n"
		  "          5:15 block\n"
		  "            5:17 expr\n"
		  "              5:17 call print\n"
		  "                5:23 map @a\n"
		  "      6:2 return\n");
	free(d);

	/* every compound assignment */
	CHECK_SHAPE("$x -= 1", "(-= $x 1)");
	CHECK_SHAPE("$x *= 1", "(*= $x 1)");
	CHECK_SHAPE("$x /= 1", "(/= $x 1)");
	CHECK_SHAPE("$x %= 1", "(%= $x 1)");
	CHECK_SHAPE("$x &= 1", "(&= $x 1)");
	CHECK_SHAPE("$x |= 1", "(|= $x 1)");
	CHECK_SHAPE("$x ^= 1", "(^= $x 1)");
	CHECK_SHAPE("@ >>= 1", "(>>= @ 1)");
	CHECK_SHAPE("@x[1]--", "(--post @x[1])");
	CHECK_SHAPE("@ = $1 + $#", "(= @ (+ $1 $#))");
	/* ';' is optional before '}' and after blocks; empty ones are ok */
	d = dump("BEGIN { ; if (1) {} $x = 1;; }");
	CHECK(d && strstr(d, "assign") && strstr(d, "if"));
	free(d);
}

/* "attach|attach pred=<shape>" of every probe, one per line. */
static char *probes(const char *text)
{
	char *errs = NULL, *out = NULL;
	size_t size = 0;
	struct ast_node *prog = parse(text, &errs);
	FILE *f;

	if (!prog)
		return errs;
	free(errs);
	f = open_memstream(&out, &size);
	for (int i = 0; i < prog->nlist; i++) {
		struct ast_node *p = prog->list[i];

		for (int k = 0; k < p->nlist; k++)
			fprintf(f, "%s%s", k ? "|" : "", p->list[k]->str);
		if (p->a) {
			fputs(" pred=", f);
			shape(f, p->a);
		}
		fprintf(f, " stmts=%d\n", p->b->nlist);
	}
	fclose(f);
	ast_free(prog);
	return out;
}

#define CHECK_PROBES(text, want) do { \
	char *p_ = probes(text); \
	CHECK_STR(p_, want); \
	free(p_); \
} while (0)

static void test_attach_points(void)
{
	CHECK_PROBES("uprobe:/bin/bash:readline{ }",
		     "uprobe:/bin/bash:readline stmts=0\n");
	CHECK_PROBES("t:syscalls:sys_enter_openat /pid == 1/ { }",
		     "t:syscalls:sys_enter_openat pred=(== pid 1) stmts=0\n");
	CHECK_PROBES("ur:/bin/bash:readline/pid>0/{}",
		     "ur:/bin/bash:readline pred=(> pid 0) stmts=0\n");
	CHECK_PROBES("BEGIN/1/{1}END{}",
		     "BEGIN pred=1 stmts=1\nEND stmts=0\n");
	CHECK_PROBES("tracepoint:syscalls:sys_enter_*,\n"
		     "  tracepoint:syscalls:sys_exit_rea?\n"
		     "{ @[probe] = count(); }",
		     "tracepoint:syscalls:sys_enter_*|"
		     "tracepoint:syscalls:sys_exit_rea? stmts=1\n");
	CHECK_PROBES("uprobe:\"/path with space/x\":func,"
		     "uretprobe:/lib/x86_64-linux-gnu/libc.so.6:\"a b\" {}",
		     "uprobe:/path with space/x:func|"
		     "uretprobe:/lib/x86_64-linux-gnu/libc.so.6:a b "
		     "stmts=0\n");
	CHECK_PROBES("usdt:/usr/lib/libpython3.so:python:function__entry"
		     " / arg0 / 2 > 1 / { }",
		     "usdt:/usr/lib/libpython3.so:python:function__entry "
		     "pred=(> (/ arg0 2) 1) stmts=0\n");
	CHECK_PROBES("interval:s:1, interval:ms:100,profile:hz:99,"
		     "software:cpu-clock:100000{}",
		     "interval:s:1|interval:ms:100|profile:hz:99|"
		     "software:cpu-clock:100000 stmts=0\n");
	CHECK_PROBES("kprobe:do_sys_open,kretprobe:vfs_read+0x10,kfunc:f,"
		     "kretfunc:f,fentry:f,fexit:f,rawtracepoint:sched_switch,"
		     "u:/bin/sh:main {}",
		     "kprobe:do_sys_open|kretprobe:vfs_read+0x10|kfunc:f|"
		     "kretfunc:f|fentry:f|fexit:f|rawtracepoint:sched_switch|"
		     "u:/bin/sh:main stmts=0\n");
	/* comments and #include lines anywhere between tokens */
	CHECK_PROBES("#include <linux/sched.h>\n"
		     "  #include \"x.h\"\n"
		     "// a probe\n"
		     "BEGIN/*a*/,/*b*/END // c\n"
		     "/* d */ { /* e */ 1 // f\n}",
		     "BEGIN|END stmts=1\n");
	/* the predicate's '/' before '{' is not a division */
	CHECK_PROBES("BEGIN / 4 / 2 / /* x */ {}",
		     "BEGIN pred=(/ 4 2) stmts=0\n");
}

static void test_string_literals(void)
{
	char *errs = NULL;
	struct ast_node *n = parse("BEGIN { \"a\\n\\t\\r\\\\\\\"\\'\\0b"
				   "\\x41\\x7\\101\\7\" }", &errs);
	const struct ast_node *s;

	CHECK(n != NULL);
	free(errs);
	if (!n)
		return;
	s = n->list[0]->b->list[0]->a;
	CHECK(s->kind == AST_STR);
	CHECK(s->str_len == 13);
	CHECK(!memcmp(s->str, "a\n\t\r\\\"'\0bA\007A\007", 14));
	ast_free(n);
	CHECK_SHAPE("\"\"", "\"\"");
	CHECK_SHAPE("printf(\"%d //not a comment\", 1)",
		    "printf(\"%d //not a comment\",1)");
}

static void test_integers(void)
{
	CHECK_SHAPE("0", "0");
	CHECK_SHAPE("1_000_000", "1000000");
	CHECK_SHAPE("1e6", "1000000");
	CHECK_SHAPE("0x10", "16u");
	CHECK_SHAPE("0XfF", "255u");
	CHECK_SHAPE("0x1_0000_0000", "4294967296u");
	CHECK_SHAPE("0777", "511u");
	CHECK_SHAPE("9223372036854775807", "9223372036854775807");
	/* past int64: kept, but marked not signed */
	CHECK_SHAPE("9223372036854775808", "9223372036854775808u");
	CHECK_SHAPE("18446744073709551615", "18446744073709551615u");
	CHECK_SHAPE("0xffffffffffffffff", "18446744073709551615u");
	CHECK_SHAPE("-9223372036854775808", "(- 9223372036854775808u)");
	CHECK_ERROR("BEGIN { 18446744073709551616 }",
		    "-e:1:9: error: integer literal '18446744073709551616' "
		    "does not fit in 64 bits\n"
		    "BEGIN { 18446744073709551616 }\n"
		    "        ^\n");
	CHECK_ERROR("BEGIN { 0x1_0000_0000_0000_0000 }",
		    "-e:1:9: error: integer literal '0x1_0000_0000_0000_0000' "
		    "does not fit in 64 bits\n"
		    "BEGIN { 0x1_0000_0000_0000_0000 }\n"
		    "        ^\n");
	CHECK_ERROR("BEGIN { 2e19 }",
		    "-e:1:9: error: integer literal '2e19' does not fit in 64 "
		    "bits\n"
		    "BEGIN { 2e19 }\n"
		    "        ^\n");
	CHECK_ERROR("BEGIN { 1_ }",
		    "-e:1:9: error: invalid integer literal '1_'\n"
		    "BEGIN { 1_ }\n"
		    "        ^\n");
}

static void test_errors(void)
{
	CHECK_ERROR("BEGIN { printf(\"a\") printf(\"b\") }",
		    "-e:1:21: error: expected ';' or '}' after statement, "
		    "found 'printf'\n"
		    "BEGIN { printf(\"a\") printf(\"b\") }\n"
		    "                    ^\n");
	CHECK_ERROR("BEGIN\n{\n\t@x = 1 +\t;\n}",
		    "-e:3:11: error: expected expression, found ';'\n"
		    "\t@x = 1 +\t;\n"
		    "\t        \t^\n");
	CHECK_ERROR("BEGIN { printf(\"hi) }",
		    "-e:1:16: error: unterminated string literal\n"
		    "BEGIN { printf(\"hi) }\n"
		    "               ^\n");
	CHECK_ERROR("BEGIN { 1 }\n/* never\nclosed",
		    "-e:2:1: error: unterminated comment\n"
		    "/* never\n"
		    "^\n");
	CHECK_ERROR("BEGIN { @x = 1;",
		    "-e:1:16: error: expected statement or '}', found end of "
		    "input\n"
		    "BEGIN { @x = 1;\n"
		    "               ^\n");
	CHECK_ERROR("BEGIN { $x = 1 } END\n",
		    "-e:1:21: error: expected ',', '/' or '{' after attach "
		    "point, found end of input\n"
		    "BEGIN { $x = 1 } END\n"
		    "                    ^\n");
	CHECK_ERROR("BEGIN { ` }",
		    "-e:1:9: error: unexpected character '`'\n"
		    "BEGIN { ` }\n"
		    "        ^\n");
	CHECK_ERROR("",
		    "-e:1:1: error: the program has no probes\n"
		    "\n"
		    "^\n");
	CHECK_ERROR("  // nothing\n",
		    "-e:1:1: error: the program has no probes\n"
		    "  // nothing\n"
		    "^\n");
	CHECK_ERROR("{ 1 }",
		    "-e:1:1: error: expected attach point, found '{'\n"
		    "{ 1 }\n"
		    "^\n");
	CHECK_ERROR("BEGIN { 1 = 2 }",
		    "-e:1:11: error: the left side of '=' must be a variable "
		    "or a map\n"
		    "BEGIN { 1 = 2 }\n"
		    "          ^\n");
	CHECK_ERROR("BEGIN { f(1,; }",
		    "-e:1:13: error: expected expression, found ';'\n"
		    "BEGIN { f(1,; }\n"
		    "            ^\n");
	CHECK_ERROR("BEGIN { unroll(101) {} }",
		    "-e:1:16: error: unroll count must be between 1 and 100\n"
		    "BEGIN { unroll(101) {} }\n"
		    "               ^\n");
	CHECK_ERROR("BEGIN { if 1 {} }",
		    "-e:1:12: error: expected '(' after 'if', found '1'\n"
		    "BEGIN { if 1 {} }\n"
		    "           ^\n");
	CHECK_ERROR("BEGIN { else {} }",
		    "-e:1:9: error: 'else' without a matching 'if'\n"
		    "BEGIN { else {} }\n"
		    "        ^\n");
	CHECK_ERROR("BEGIN { \"\\q\" }",
		    "-e:1:10: error: invalid escape sequence '\\q'\n"
		    "BEGIN { \"\\q\" }\n"
		    "         ^\n");
	CHECK_ERROR("BEGIN { 1++ }",
		    "-e:1:9: error: '++' needs a variable or a map\n"
		    "BEGIN { 1++ }\n"
		    "        ^\n");
	CHECK_ERROR("BEGIN { (struct) 1 }",
		    "-e:1:16: error: expected a name after 'struct', found "
		    "')'\n"
		    "BEGIN { (struct) 1 }\n"
		    "               ^\n");
	CHECK_ERROR("BEGIN { $x = 1 ? 2 }",
		    "-e:1:20: error: expected ':' in conditional expression, "
		    "found '}'\n"
		    "BEGIN { $x = 1 ? 2 }\n"
		    "                   ^\n");
	CHECK_ERROR("BEGIN / 1 ; {}",
		    "-e:1:11: error: expected '/' to end the predicate, found "
		    "';'\n"
		    "BEGIN / 1 ; {}\n"
		    "          ^\n");
	CHECK_ERROR("BEGIN, { }",
		    "-e:1:8: error: expected attach point, found '{'\n"
		    "BEGIN, { }\n"
		    "       ^\n");
	CHECK_ERROR("uprobe:\"/x { }",
		    "-e:1:8: error: unterminated quoted part of attach point\n"
		    "uprobe:\"/x { }\n"
		    "       ^\n");
	CHECK_ERROR("BEGIN { @x[1 }",
		    "-e:1:14: error: expected ',' or ']' after map key, found "
		    "'}'\n"
		    "BEGIN { @x[1 }\n"
		    "             ^\n");
	CHECK_ERROR("BEGIN { args-> }",
		    "-e:1:16: error: expected a field name after '->', found "
		    "'}'\n"
		    "BEGIN { args-> }\n"
		    "               ^\n");
	CHECK_ERROR("BEGIN { printf(\"%s\", \"a very long string literal "
		    "indeed, longer than forty\" x) }",
		    "-e:1:77: error: expected ',' or ')' in argument list, "
		    "found 'x'\n"
		    "BEGIN { printf(\"%s\", \"a very long string literal "
		    "indeed, longer than forty\" x) }\n"
		    "                                                        "
		    "                    ^\n");
	CHECK_ERROR("BEGIN { $ }",
		    "-e:1:9: error: expected a variable name or number after "
		    "'$'\n"
		    "BEGIN { $ }\n"
		    "        ^\n");
	CHECK_ERROR("BEGIN { 1 + \"unterminated }\n",
		    "-e:1:13: error: unterminated string literal\n"
		    "BEGIN { 1 + \"unterminated }\n"
		    "            ^\n");
	CHECK_ERROR("BEGIN { @ = 1 \"s\" }",
		    "-e:1:15: error: expected ';' or '}' after statement, "
		    "found string \"s\"\n"
		    "BEGIN { @ = 1 \"s\" }\n"
		    "              ^\n");
}

/* Untrusted input: deep nesting and huge expressions fail cleanly. */
static void test_limits(void)
{
	size_t n = 5000;
	char *text = malloc(n * 4 + 32), *e;

	strcpy(text, "BEGIN { ");
	for (size_t i = 0; i < n; i++)
		strcat(text, "(");
	e = parse_error(text);
	CHECK(e && strstr(e, "error: nesting deeper than"));
	free(e);
	strcpy(text, "BEGIN { @ = 1");
	for (size_t i = 0; i < n; i++)
		strcat(text, "+1");
	strcat(text, " }");
	e = parse_error(text);
	CHECK(e && strstr(e, "error: expression too large"));
	free(e);
	strcpy(text, "BEGIN { ");
	for (size_t i = 0; i < n; i++)
		strcat(text, "-");
	strcat(text, "1 }");
	e = parse_error(text);
	CHECK(e && strstr(e, "error: nesting deeper than"));
	free(e);
	/* embedded NUL bytes are characters, not the end of the text */
	{
		struct src_file src = { "-e", "BEGIN { 1 }\0x", 13 };
		char *errs = NULL;
		size_t size = 0;
		FILE *f = open_memstream(&errs, &size);

		CHECK(ast_parse(&src, f) == NULL);
		fclose(f);
		CHECK(errs && strstr(errs, "unexpected character '\\x00'"));
		free(errs);
	}
	free(text);
}

static void test_dump_types_and_diag_warn(void)
{
	char *errs = NULL, *out = NULL;
	size_t size = 0;
	struct ast_node *n = parse("BEGIN { @ = pid }", &errs);
	struct src_file src = { "script.bt", "a\n\tb c\n", 7 };
	FILE *f;

	free(errs);
	if (!n)
		return;
	n->list[0]->b->list[0]->b->type =
		(struct ttype){ .kind = TT_INT, .size = 4 };
	f = open_memstream(&out, &size);
	ast_dump(f, n->list[0]->b);
	fclose(f);
	CHECK_STR(out, "1:7 block\n"
		       "  1:9 assign '='\n"
		       "    1:9 map @\n"
		       "    1:13 ident pid :: uint32\n");
	free(out);
	ast_free(n);

	f = open_memstream(&out, &size);
	diag_warn(f, &src, (struct src_loc){ 2, 4 }, "odd %s", "thing");
	fclose(f);
	CHECK_STR(out, "script.bt:2:4: warning: odd thing\n\tb c\n\t  ^\n");
	free(out);
	CHECK_STR(ast_tok_name(TOK_ARROW), "'->'");
	CHECK_STR(ast_tok_name(TOK_EOF), "end of input");
	CHECK_STR(ast_tok_name(TOK_INT), "integer");
}

/* "did you mean": the nearest name a few edits away, or nothing. */
static const char *nearest(const char *name, const char *const *cands)
{
	static char hint[96];
	struct sema_near n;

	sema_near_init(&n, name);
	for (; *cands; cands++)
		sema_near_add(&n, *cands);
	return sema_near_hint(&n, hint, sizeof(hint));
}

static void test_did_you_mean(void)
{
	static const char *const funcs[] = { "printf", "print", "count",
					     "kstack", "str", NULL };

	CHECK_STR(nearest("prinft", funcs), "; did you mean 'printf'?");
	CHECK_STR(nearest("printff", funcs), "; did you mean 'printf'?");
	CHECK_STR(nearest("cuont", funcs), "; did you mean 'count'?");
	CHECK_STR(nearest("kstak", funcs), "; did you mean 'kstack'?");
	/* far names get no hint; short names only 1 edit away */
	CHECK_STR(nearest("frobnicate", funcs), "");
	CHECK_STR(nearest("ab", funcs), "");
	CHECK_STR(nearest("stx", funcs), "; did you mean 'str'?");
	CHECK_STR(nearest("sxy", funcs), "");
}

static const struct unit_test trace_parse_tests[] = {
	{ "trace_parse_precedence", test_precedence },
	{ "trace_parse_casts_tuples", test_casts_and_tuples },
	{ "trace_parse_statements", test_statements },
	{ "trace_parse_attach_points", test_attach_points },
	{ "trace_parse_strings", test_string_literals },
	{ "trace_parse_integers", test_integers },
	{ "trace_parse_errors", test_errors },
	{ "trace_parse_limits", test_limits },
	{ "trace_parse_dump_diag", test_dump_types_and_diag_warn },
	{ "trace_parse_did_you_mean", test_did_you_mean },
	{ NULL, NULL },
};

UNIT_GROUP(trace_parse_tests)
