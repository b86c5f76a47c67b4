"""Paper E's published numbers (Wei & Radu), quoted so the chapter can print them beside ours.

Every value is copied from the paper's tables; nothing here is computed.
"""

from __future__ import annotations

# Table II/III: the authors' two scenarios (private data).
DATASETS = {
    "source": {"IMU samples": 24_450, "RSS samples": 25_541, "access points": 102, "minutes": 407,
               "rounds": 14},
    "target": {"IMU samples": 29_836, "RSS samples": 8_390, "access points": 750, "minutes": 497,
               "rounds": 14},
}

# Table IV: pre-training settings of the IMU-LSTM.
PRETRAIN = {"epochs": 100, "LSTM layers": 1, "LSTM hidden units": 128,
            "LSTM transferable parameters": 67_072, "optimiser": "RMSprop", "learning rate": 0.005}

# Table V: test error (m) by fine-tuning rate; "scratch" = trained from scratch, 0.0 = transferred.
TABLE_V_MEAN = {"scratch": 2.39, 1.0: 1.46, 0.875: 1.75, 0.75: 1.81, 0.625: 1.56, 0.5: 1.85,
                0.375: 1.80, 0.25: 2.36, 0.125: 3.34, 0.0: 3.35}
TABLE_V_STD = {"scratch": 2.77, 1.0: 1.63, 0.875: 2.07, 0.75: 1.92, 0.625: 1.82, 0.5: 1.96,
               0.375: 2.17, 0.25: 3.70, 0.125: 4.75, 0.0: 5.09}

# Table VI: mean error (m) with 40 % of one modality wiped from the test set.
TABLE_VI = {
    "transfer": {"mag": 3.93, "imu": 7.99, "wifi": 3.72, "average": 5.21},
    "finetune": {"mag": 2.76, "imu": 2.66, "wifi": 3.33, "average": 2.92},
}
