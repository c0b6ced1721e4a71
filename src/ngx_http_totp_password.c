
/*
 * Password checks and password lines, as jobs for nginx's thread pool.
 *
 * A bcrypt hash at cost 12 takes a quarter of a second; in the event loop
 * it would hold every request the worker carries.  So the file is read
 * and the password hashed in a thread (totp_thread_pool), and the
 * request goes on from the job's completion event.  The request is
 * "blocked" meanwhile, as nginx's own thread reads do: nginx keeps it,
 * and with it the job's memory and the password the job reads, until
 * the completion ran, even when the client left.  At most
 * totp_hash_concurrency hashes run per worker: a flood of sign-ins gets
 * 503 at once rather than a queue that grows.  The thread never logs;
 * the completion logs what the job found.
 *
 * The file is read on each check, as auth_basic does, so that a changed
 * password takes effect without a reload; a session's check of the
 * user's line reads it again at most once per totp_revalidate.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_htpasswd.h"
#include "ngx_http_totp_lines.h"
#include "ngx_http_totp_log.h"
#include "ngx_http_totp_password.h"


typedef struct {
#if (NGX_THREADS)
    ngx_thread_task_t                  *task;
#endif
    ngx_http_request_t                 *r;
    ngx_http_totp_password_pt           done;
    void                               *data;
    ngx_http_totp_password_line_t      *line;

    /* what the job reads: the request's, kept by it */
    u_char                             *path;      /* NUL-terminated */
    ngx_str_t                           user;
    ngx_str_t                          *password;  /* NULL: the line only */

    /*
     * What the thread writes, each field its own word: a bit-field
     * shared with the event loop's would be a race.
     */
    ngx_int_t                           rc;
    ngx_http_totp_htpasswd_failure_e    failure;
    ngx_err_t                           err;
    u_char                             *text;      /* the user's line */
    size_t                              text_len;
    ngx_uint_t                          found;
    ngx_uint_t                          decoy;     /* hashed for no user */
    ngx_uint_t                          scanned;   /* the file was read */
    ngx_file_info_t                     fi;        /* as it was opened */

    time_t                              asked;     /* when it was made */

#if (NGX_THREADS)
    /* the event loop's alone */
    ngx_event_t                         running;   /* see _post() */
    ngx_uint_t                          hashing;   /* counted below */
#endif
} ngx_http_totp_password_job_t;


static ngx_http_totp_password_job_t *ngx_http_totp_password_job(
    ngx_http_request_t *r, ngx_str_t *path, ngx_str_t *user,
    ngx_str_t *password, ngx_http_totp_password_line_t *line,
    ngx_http_totp_password_pt done, void *data);
static ngx_int_t ngx_http_totp_password_post(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_http_totp_password_job_t *job);
static void ngx_http_totp_password_run(ngx_http_totp_password_job_t *job,
    ngx_log_t *log);
static ngx_int_t ngx_http_totp_password_result(ngx_http_request_t *r,
    ngx_http_totp_password_job_t *job);
static void ngx_http_totp_password_wipe(void *data);

#if (NGX_THREADS)
static void ngx_http_totp_password_thread(void *data, ngx_log_t *log);
static void ngx_http_totp_password_completed(ngx_event_t *ev);
static void ngx_http_totp_password_long(ngx_event_t *ev);
#endif


/* how often a job that still runs is told in the error log */
#define NGX_HTTP_TOTP_PASSWORD_LONG  60000


#if (NGX_THREADS)

/* the hashes this worker's threads run now, for totp_hash_concurrency */
static ngx_uint_t  ngx_http_totp_password_hashing;

/* when a refusal for it was last logged: at most one line a second */
static time_t      ngx_http_totp_password_refused;

/* whether an unstarted pool was told of */
static ngx_uint_t  ngx_http_totp_password_unstarted;

/* what a thread logs to: nothing, at any level (the completion logs) */
static ngx_log_t   ngx_http_totp_password_silent;

#endif


ngx_int_t
ngx_http_totp_password_check(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user, ngx_str_t *password,
    ngx_http_totp_password_line_t *line, ngx_http_totp_password_pt done,
    void *data)
{
    ngx_int_t                      rc;
    ngx_str_t                      path;
    ngx_http_totp_password_job_t  *job;

#if (NGX_THREADS)
    if (conf->main->thread_pool
        && ngx_http_totp_password_hashing
           >= (ngx_uint_t) conf->main->hash_concurrency)
    {
        if (ngx_http_totp_password_refused != ngx_time()) {
            ngx_http_totp_password_refused = ngx_time();
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "totp: %ui password hashes run in this worker "
                          "already (totp_hash_concurrency), sign-in refused "
                          "with 503 (logged once a second at most)",
                          ngx_http_totp_password_hashing);
        }

        return NGX_BUSY;
    }
#endif

    /* ngx_http_complex_value() ends values with a NUL for file names */

    if (ngx_http_complex_value(r, conf->password_file, &path) != NGX_OK) {
        return NGX_ERROR;
    }

    job = ngx_http_totp_password_job(r, &path, user, password, line, done,
                                     data);
    if (job == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_totp_password_post(r, conf, job);

    if (rc == NGX_ERROR) {

        /* the pool's queue is full (nginx logged it): busy, not broken */
        return NGX_BUSY;
    }

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    /*
     * Inline, the hash holds the worker, and the event loop's clock
     * stands still meanwhile: a Redis command sent next would get its
     * timer from the stale time and time out before Redis could answer.
     */

    ngx_http_totp_password_run(job, r->connection->log);
    rc = ngx_http_totp_password_result(r, job);
    ngx_time_update();

    return rc;
}


ngx_int_t
ngx_http_totp_password_line(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user,
    ngx_http_totp_password_line_t *line, ngx_http_totp_password_pt done,
    void *data)
{
    ngx_int_t                      rc;
    ngx_str_t                      path;
    ngx_http_totp_password_job_t  *job;

    job = NULL;

    if (ngx_http_complex_value(r, conf->password_file, &path) == NGX_OK) {

        /* unchanged since this worker read it: no thread needed */

        if (ngx_http_totp_lines_find(r, path.data, user, &line->rc,
                                     &line->text)
            == NGX_OK)
        {
            line->read = 1;
            return NGX_OK;
        }

        job = ngx_http_totp_password_job(r, &path, user, NULL, line, done,
                                         data);
    }

    rc = (job == NULL) ? NGX_ERROR : ngx_http_totp_password_post(r, conf, job);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_totp_password_run(job, r->connection->log);
        (void) ngx_http_totp_password_result(r, job);
        return NGX_OK;
    }

    /* nothing to read it with: the line is unknown, and vouches for none */

    line->text.len = 0;
    line->rc = NGX_ERROR;
    line->read = 1;

    return NGX_OK;
}


void
ngx_http_totp_password_init_process(ngx_http_totp_main_conf_t *mcf)
{
    /* this process's copy of the configuration: nginx started its pools */
    mcf->thread_pool_started = 1;
}


void
ngx_http_totp_password_exit_process(void)
{
    ngx_http_totp_lines_release();
}


ngx_int_t
ngx_http_totp_password_unchanged(ngx_http_request_t *r,
    ngx_http_complex_value_t *file, time_t since)
{
    ngx_str_t        path;
    ngx_file_info_t  fi;

    if (ngx_http_complex_value(r, file, &path) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_file_info(path.data, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ngx_errno,
                      ngx_file_info_n " \"%s\" failed", path.data);
        return NGX_ERROR;
    }

    /* one second's grain: a file written in that second counts as before */

    return (ngx_file_mtime(&fi) <= since) ? NGX_OK : NGX_DECLINED;
}


/*
 * A job in r's pool, with room for the user's line when it is wanted;
 * the line is wiped when the request ends, however it ends.
 */

static ngx_http_totp_password_job_t *
ngx_http_totp_password_job(ngx_http_request_t *r, ngx_str_t *path,
    ngx_str_t *user, ngx_str_t *password,
    ngx_http_totp_password_line_t *line, ngx_http_totp_password_pt done,
    void *data)
{
    size_t                         size;
    ngx_pool_cleanup_t            *cln;
    ngx_http_totp_password_job_t  *job;

#if (NGX_THREADS)
    ngx_thread_task_t             *task;
#endif

    size = sizeof(ngx_http_totp_password_job_t)
           + (line ? NGX_HTTP_TOTP_HTPASSWD_LINE : 0);

#if (NGX_THREADS)
    task = ngx_thread_task_alloc(r->pool, size);
    if (task == NULL) {
        return NULL;
    }

    job = task->ctx;
    job->task = task;
    task->handler = ngx_http_totp_password_thread;
    task->event.handler = ngx_http_totp_password_completed;
    task->event.data = task;
#else
    job = ngx_pcalloc(r->pool, size);
    if (job == NULL) {
        return NULL;
    }
#endif

    job->r = r;
    job->done = done;
    job->data = data;
    job->line = line;
    job->path = path->data;
    job->asked = ngx_time();
    job->user = *user;
    job->password = password;
    job->text = line ? (u_char *) (job + 1) : NULL;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_totp_password_wipe;
    cln->data = job;

    return job;
}


/*
 * NGX_AGAIN: the job runs in the thread pool; NGX_DECLINED: there is
 * none, the caller runs it inline; NGX_ERROR: the pool refused it
 * (logged by nginx: its queue is full).
 */

static ngx_int_t
ngx_http_totp_password_post(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_http_totp_password_job_t *job)
{
#if (NGX_THREADS)

    if (conf->main->thread_pool == NULL) {
        return NGX_DECLINED;
    }

#if !(NGX_HAVE_GNU_CRYPT_R)

    /* without crypt_r(), nginx calls crypt(), whose buffer is shared */

    if (job->password) {
        return NGX_DECLINED;
    }

#endif

    /*
     * With master_process off, a reload starts no threads for the new
     * configuration's pools (nginx runs no init_process again): a task
     * posted there would never run.
     */

    if (!conf->main->thread_pool_started) {
        if (!ngx_http_totp_password_unstarted) {
            ngx_http_totp_password_unstarted = 1;
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "totp: the thread pool of this configuration was "
                          "not started (a reload with master_process off): "
                          "passwords are hashed in the event loop");
        }

        return NGX_DECLINED;
    }

    /*
     * All the event loop's own fields are set before the thread may run.
     * A worker that is told to leave waits only for its timers: one for
     * the job keeps it until the job is done, as a request's send timer
     * does for a response.
     */

    job->running.handler = ngx_http_totp_password_long;
    job->running.data = job;
    job->running.log = r->connection->log;
    job->hashing = (job->password != NULL);

    if (ngx_thread_task_post(conf->main->thread_pool, job->task) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_add_timer(&job->running, NGX_HTTP_TOTP_PASSWORD_LONG);

    r->main->blocked++;
    ngx_http_totp_password_hashing += job->hashing;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp password: %s in the thread pool, %ui hashing",
                   job->password ? "check" : "line",
                   ngx_http_totp_password_hashing);

    return NGX_AGAIN;
#else
    return NGX_DECLINED;
#endif
}


/* the job itself: in a thread, or inline */

static void
ngx_http_totp_password_run(ngx_http_totp_password_job_t *job, ngx_log_t *log)
{
    ngx_http_totp_htpasswd_t  h;

    ngx_http_totp_htpasswd_init(&h, &job->user);

    /* a check reads to the end: where the name is must not tell in time */

    if (ngx_http_totp_htpasswd_scan(&h, job->path, job->password != NULL,
                                    &job->fi, &job->failure, &job->err)
        != NGX_OK)
    {
        job->rc = NGX_ERROR;
        goto done;
    }

    job->scanned = 1;

    if (h.found && job->text) {
        ngx_memcpy(job->text, h.line, h.line_len);
        job->text_len = h.line_len;
    }

    job->found = h.found;

    if (job->password == NULL) {
        job->rc = h.found ? NGX_OK : NGX_DECLINED;
        goto done;
    }

    if (h.found) {
        job->rc = ngx_http_totp_htpasswd_match(job->password,
                                               h.line + h.hash_start,
                                               h.hash_len, log,
                                               &job->failure);
        goto done;
    }

    /*
     * No such user: the password is hashed all the same, against the
     * file's first crypt(3) hash, so that the answer takes as long as for
     * a user who exists and the time does not tell which names do.  Its
     * result is never used.
     */

    if (h.decoy_len) {
        job->decoy = 1;
        (void) ngx_http_totp_htpasswd_match(job->password, h.decoy,
                                            h.decoy_len, log, &job->failure);
    }

    job->rc = NGX_DECLINED;

done:

    ngx_http_totp_htpasswd_wipe(&h);
}


/* in the event loop: what the job found, logged, and the line filled in */

static ngx_int_t
ngx_http_totp_password_result(ngx_http_request_t *r,
    ngx_http_totp_password_job_t *job)
{
    ngx_uint_t  level;

    switch (job->failure) {

    case NGX_HTTP_TOTP_HTPASSWD_OK:
        break;

    case NGX_HTTP_TOTP_HTPASSWD_OPEN:
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, job->err,
                      ngx_open_file_n " \"%s\" failed", job->path);
        break;

    case NGX_HTTP_TOTP_HTPASSWD_READ:
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, job->err,
                      ngx_read_fd_n " \"%s\" failed", job->path);
        break;

    case NGX_HTTP_TOTP_HTPASSWD_NOT_FILE:
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                      "totp: password file \"%s\" is not a regular file",
                      job->path);
        break;

    case NGX_HTTP_TOTP_HTPASSWD_LARGE:
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                      "totp: password file \"%s\" is larger than %d bytes",
                      job->path, NGX_HTTP_TOTP_HTPASSWD_MAX);
        break;

    case NGX_HTTP_TOTP_HTPASSWD_LONG:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "totp: the line of user \"%V\" in \"%s\" is longer "
                      "than %d bytes",
                      ngx_http_totp_log_escape(r->pool, &job->user),
                      job->path, NGX_HTTP_TOTP_HTPASSWD_LINE);
        break;

    case NGX_HTTP_TOTP_HTPASSWD_FORMAT:

        /* the decoy's entry is nobody's concern at each unknown name */

        level = job->decoy ? NGX_LOG_DEBUG : NGX_LOG_ERR;

        ngx_log_error(level, r->connection->log, 0,
                      "totp: password hash in an unknown format%s",
                      job->decoy ? " (checked for a name not in the file)"
                                 : "");
        break;

    default: /* NGX_HTTP_TOTP_HTPASSWD_NOMEM */
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                      "totp: no memory to check a password");
        break;
    }

    if (job->line) {
        job->line->read = 1;
        job->line->text.data = job->text;
        job->line->text.len = job->text_len;

        if (job->rc == NGX_ERROR
            && job->failure != NGX_HTTP_TOTP_HTPASSWD_FORMAT
            && job->failure != NGX_HTTP_TOTP_HTPASSWD_NOMEM)
        {
            job->line->rc = NGX_ERROR;

        } else {
            job->line->rc = job->found ? NGX_OK : NGX_DECLINED;
        }
    }

    /* for this worker's next request about the user, while it holds */

    if (job->scanned && job->text) {
        ngx_http_totp_lines_keep(job->path, &job->user,
                                 job->found ? NGX_OK : NGX_DECLINED,
                                 job->text, job->text_len, &job->fi,
                                 job->asked, r->connection->log);
    }

    return job->rc;
}


static void
ngx_http_totp_password_wipe(void *data)
{
    ngx_http_totp_password_job_t  *job = data;

    if (job->text) {
        ngx_explicit_memzero(job->text, NGX_HTTP_TOTP_HTPASSWD_LINE);
    }
}


#if (NGX_THREADS)

static void
ngx_http_totp_password_thread(void *data, ngx_log_t *log)
{
    ngx_http_totp_password_run(data, &ngx_http_totp_password_silent);
}


static void
ngx_http_totp_password_completed(ngx_event_t *ev)
{
    ngx_int_t                      rc;
    ngx_thread_task_t             *task;
    ngx_connection_t              *c;
    ngx_http_request_t            *r;
    ngx_http_totp_password_job_t  *job;

    task = ev->data;
    job = task->ctx;
    r = job->r;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    r->main->blocked--;

    if (job->running.timer_set) {
        ngx_del_timer(&job->running);
    }

    if (job->hashing) {
        ngx_http_totp_password_hashing--;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "totp password: %s done, %ui hashing",
                   job->password ? "check" : "line",
                   ngx_http_totp_password_hashing);

    rc = ngx_http_totp_password_result(r, job);

    if (c->error) {

        /*
         * The client left while the thread ran: nginx held back the end
         * of the request for the job, which ends it now.  The attempt
         * stays counted, as for a client that leaves while Redis is asked.
         */

        ngx_http_finalize_request(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);

    } else {
        job->done(r, job->data, rc);
    }

    ngx_http_run_posted_requests(c);
}


/* a hash that takes a minute is a pool too small, or a machine stalled */

static void
ngx_http_totp_password_long(ngx_event_t *ev)
{
    ngx_http_totp_password_job_t  *job = ev->data;

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "totp: a password %s has been waiting for the thread "
                  "pool for a minute or more",
                  job->password ? "check" : "line");

    ngx_add_timer(ev, NGX_HTTP_TOTP_PASSWORD_LONG);
}

#endif
