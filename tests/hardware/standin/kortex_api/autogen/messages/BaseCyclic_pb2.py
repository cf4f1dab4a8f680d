class BaseFeedback:
    def __init__(self) -> None:
        self.active_state = 0
        self.fault_bank_a = self.fault_bank_b = 0
        self.tool_pose_x = self.tool_pose_y = self.tool_pose_z = 0.0
        self.tool_pose_theta_x = self.tool_pose_theta_y = self.tool_pose_theta_z = 0.0
        self.tool_twist_linear_x = self.tool_twist_linear_y = self.tool_twist_linear_z = 0.0
        self.tool_twist_angular_x = self.tool_twist_angular_y = self.tool_twist_angular_z = 0.0


class ActuatorFeedback:
    def __init__(self, position: float, velocity: float, torque: float) -> None:
        self.position, self.velocity, self.torque = position, velocity, torque


class Feedback:
    def __init__(self) -> None:
        self.base = BaseFeedback()
        self.actuators: list[ActuatorFeedback] = []
