/* Operations of the generic elementwise kernel (aten, fuser none, dropout, bias broadcast). */
#ifndef NNB_POINTWISE_OPS_H
#define NNB_POINTWISE_OPS_H

typedef enum nnb_pw_op {
    NNB_PW_COPY = 0,    /* out = a */
    NNB_PW_ADD,         /* out = a + b */
    NNB_PW_MUL,         /* out = a * b */
    NNB_PW_SIGMOID,     /* out = sigmoid(a) */
    NNB_PW_TANH,        /* out = tanh(a) */
    NNB_PW_SIGMOID_BWD, /* out = a * b * (1 - b), b = sigmoid output */
    NNB_PW_TANH_BWD,    /* out = a * (1 - b * b), b = tanh output */
} nnb_pw_op;

#endif
