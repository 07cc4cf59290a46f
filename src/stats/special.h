/* SPDX-License-Identifier: MIT */
/* Special functions shared by drift and rollout statistics. Each agrees with
 * the scipy.special / scipy.stats function named beside it to near double
 * precision (tests/drift checks them against stored reference values). */
#ifndef MLOPS_STATS_SPECIAL_H
#define MLOPS_STATS_SPECIAL_H

double mlops__norm_cdf(double x);                   /* scipy.stats.norm.cdf */
double mlops__norm_sf(double x);                    /* scipy.stats.norm.sf */
double mlops__norm_ppf(double p);                   /* scipy.stats.norm.ppf; p in [0,1] */
double mlops__lgamma(double x);                     /* log |Gamma(x)| */
double mlops__gamma_p(double a, double x);          /* scipy.special.gammainc */
double mlops__gamma_q(double a, double x);          /* scipy.special.gammaincc */
double mlops__chi2_sf(double x, double dof);        /* scipy.stats.chi2.sf */
double mlops__chi2_cdf(double x, double dof);       /* scipy.stats.chi2.cdf */
double mlops__kolmogorov_sf(double x);              /* scipy.special.kolmogorov: P(K > x) */
double mlops__beta_inc(double a, double b, double x); /* scipy.special.betainc */
double mlops__t_sf(double t, double df);            /* scipy.stats.t.sf */
double mlops__t_cdf(double t, double df);           /* scipy.stats.t.cdf */
double mlops__t_ppf(double p, double df);           /* scipy.stats.t.ppf */

#endif
